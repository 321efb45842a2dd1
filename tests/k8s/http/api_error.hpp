// Errors as the Kubernetes API server reports them: a `Status` object (kind Status,
// apiVersion v1, status Failure) with the HTTP code, a machine reason and a message whose
// wording follows k8s.io/apimachinery/pkg/api/errors, so clients that match on reasons or
// log messages see what a real cluster would send.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

namespace distls::k8s_double {

// A group and resource, e.g. {"certificates.k8s.io", "certificatesigningrequests"}.
struct GroupResource {
  std::string group;
  std::string resource;
  // "certificatesigningrequests.certificates.k8s.io", or "pods" for the core group.
  std::string qualified() const { return group.empty() ? resource : resource + "." + group; }
};

// One field.Error of k8s.io/apimachinery/pkg/util/validation/field.
struct FieldError {
  enum class Type { required, invalid, not_supported, duplicate, forbidden, too_long };
  Type type;
  std::string field;   // "spec.usages[2]"
  std::string value;   // already rendered as Go's %#v would, e.g. "\"foo\"" or "599"
  std::string detail;  // free text

  std::string reason() const;  // "FieldValueRequired", ...
  std::string body() const;    // "Required value", "Invalid value: 599: may not ...", ...
  std::string message() const { return field + ": " + body(); }
};

std::string go_quote(std::string_view s);  // strconv.Quote for printable ASCII and escapes

struct ApiError {
  unsigned code = 500;
  std::string reason;  // "NotFound", "Conflict", ... ("" for a plain 500)
  std::string message;
  boost::json::object details;  // omitted from the Status when empty
  std::optional<unsigned> retry_after_seconds;

  boost::json::object to_status() const;
};

// The constructors of k8s.io/apimachinery/pkg/api/errors, same messages.
ApiError not_found(const GroupResource& gr, const std::string& name);
ApiError already_exists(const GroupResource& gr, const std::string& name);
ApiError conflict(const GroupResource& gr, const std::string& name, const std::string& why);
ApiError invalid(const std::string& qualified_kind, const std::string& name,
                 const std::vector<FieldError>& errors);
ApiError forbidden(const GroupResource& gr, const std::string& name, const std::string& why);
ApiError unauthorized();
ApiError bad_request(std::string message);
ApiError method_not_supported(const GroupResource& gr, const std::string& action);
ApiError resource_expired(std::string message);  // 410, reason Expired (a too old watch RV)
ApiError unsupported_media_type(const std::string& content_type);
ApiError not_acceptable(const std::string& what);
ApiError path_not_found();  // a URL the server does not serve at all: 404, reason NotFound
ApiError from_code(unsigned code, std::string message);  // 429/500/503/504 etc. by code

// A value or the ApiError that prevented it (std::expected is C++23).
template <class T>
class Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}
  Expected(ApiError error) : error_(std::move(error)) {}

  explicit operator bool() const { return value_.has_value(); }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const ApiError& error() const { return *error_; }

 private:
  std::optional<T> value_;
  std::optional<ApiError> error_;
};

}  // namespace distls::k8s_double
