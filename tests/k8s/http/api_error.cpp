#include "tests/k8s/http/api_error.hpp"

#include <cstdio>

#include <boost/json/array.hpp>

namespace distls::k8s_double {

namespace json = boost::json;

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", u);
          out += hex;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string FieldError::reason() const {
  switch (type) {
    case Type::required:
      return "FieldValueRequired";
    case Type::invalid:
      return "FieldValueInvalid";
    case Type::not_supported:
      return "FieldValueNotSupported";
    case Type::duplicate:
      return "FieldValueDuplicate";
    case Type::forbidden:
      return "FieldValueForbidden";
    case Type::too_long:
      return "FieldValueTooLong";
  }
  return "FieldValueInvalid";
}

// field.Error.ErrorBody(): the value is shown for every type but those four.
std::string FieldError::body() const {
  std::string s;
  switch (type) {
    case Type::required:
      s = "Required value";
      break;
    case Type::forbidden:
      s = "Forbidden";
      break;
    case Type::too_long:
      s = "Too long";
      break;
    case Type::invalid:
      s = "Invalid value: " + value;
      break;
    case Type::not_supported:
      s = "Unsupported value: " + value;
      break;
    case Type::duplicate:
      s = "Duplicate value: " + value;
      break;
  }
  if (!detail.empty()) s += ": " + detail;
  return s;
}

json::object ApiError::to_status() const {
  json::object st;
  st["kind"] = "Status";
  st["apiVersion"] = "v1";
  st["metadata"] = json::object{};
  st["status"] = "Failure";
  st["message"] = message;
  if (!reason.empty()) st["reason"] = reason;
  json::object d = details;
  if (retry_after_seconds) d["retryAfterSeconds"] = *retry_after_seconds;
  if (!d.empty()) st["details"] = std::move(d);
  st["code"] = code;
  return st;
}

namespace {

json::object details_for(const GroupResource& gr, const std::string& name) {
  json::object d;
  if (!name.empty()) d["name"] = name;
  if (!gr.group.empty()) d["group"] = gr.group;
  d["kind"] = gr.resource;
  return d;
}

}  // namespace

ApiError not_found(const GroupResource& gr, const std::string& name) {
  return {404, "NotFound", gr.qualified() + " " + go_quote(name) + " not found", details_for(gr, name), {}};
}

ApiError already_exists(const GroupResource& gr, const std::string& name) {
  return {409,
          "AlreadyExists",
          gr.qualified() + " " + go_quote(name) + " already exists",
          details_for(gr, name),
          {}};
}

ApiError conflict(const GroupResource& gr, const std::string& name, const std::string& why) {
  return {409,
          "Conflict",
          "Operation cannot be fulfilled on " + gr.qualified() + " " + go_quote(name) + ": " + why,
          details_for(gr, name),
          {}};
}

ApiError invalid(const std::string& qualified_kind, const std::string& name,
                 const std::vector<FieldError>& errors) {
  // utilerrors.NewAggregate: one error prints bare, several as "[a, b]".
  std::string agg;
  if (errors.size() == 1) {
    agg = errors.front().message();
  } else {
    agg = "[";
    for (std::size_t i = 0; i < errors.size(); ++i) agg += (i ? ", " : "") + errors[i].message();
    agg += "]";
  }
  json::array causes;
  for (const auto& e : errors)
    causes.push_back(json::object{{"reason", e.reason()}, {"message", e.body()}, {"field", e.field}});
  const auto dot = qualified_kind.find('.');
  json::object d;
  d["name"] = name;
  if (dot != std::string::npos) d["group"] = qualified_kind.substr(dot + 1);
  d["kind"] = qualified_kind.substr(0, dot);
  d["causes"] = std::move(causes);
  return {422, "Invalid", qualified_kind + " " + go_quote(name) + " is invalid: " + agg, std::move(d), {}};
}

ApiError forbidden(const GroupResource& gr, const std::string& name, const std::string& why) {
  const std::string subject = name.empty() ? gr.qualified() : gr.qualified() + " " + go_quote(name);
  return {403, "Forbidden", subject + " is forbidden: " + why, details_for(gr, name), {}};
}

ApiError unauthorized() { return {401, "Unauthorized", "Unauthorized", {}, {}}; }

ApiError bad_request(std::string message) { return {400, "BadRequest", std::move(message), {}, {}}; }

ApiError method_not_supported(const GroupResource& gr, const std::string& action) {
  return {405,
          "MethodNotAllowed",
          action + " is not supported on resources of kind " + go_quote(gr.qualified()),
          details_for(gr, ""),
          {}};
}

ApiError resource_expired(std::string message) { return {410, "Expired", std::move(message), {}, {}}; }

ApiError unsupported_media_type(const std::string& content_type) {
  return {415,
          "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted media types include: "
          "application/json (this test double does not take " +
              content_type + ")",
          {},
          {}};
}

ApiError not_acceptable(const std::string& what) {
  return {406,
          "NotAcceptable",
          "only the following media types are accepted: application/json (asked for " + what + ")",
          {},
          {}};
}

ApiError path_not_found() {
  return {404, "NotFound", "the server could not find the requested resource", {}, {}};
}

ApiError from_code(unsigned code, std::string message) {
  // The reasons StatusReasonForHTTPCode / the apiserver's filters use for these codes.
  std::string reason;
  switch (code) {
    case 400:
      reason = "BadRequest";
      break;
    case 401:
      reason = "Unauthorized";
      break;
    case 403:
      reason = "Forbidden";
      break;
    case 404:
      reason = "NotFound";
      break;
    case 405:
      reason = "MethodNotAllowed";
      break;
    case 409:
      reason = "Conflict";
      break;
    case 410:
      reason = "Gone";
      break;
    case 422:
      reason = "Invalid";
      break;
    case 429:
      reason = "TooManyRequests";
      break;
    case 500:
      reason = "InternalError";
      break;
    case 503:
      reason = "ServiceUnavailable";
      break;
    case 504:
      reason = "Timeout";
      break;
    default:
      reason = code >= 500 ? "InternalError" : "BadRequest";
  }
  if (message.empty()) {
    if (code == 429)
      message = "Too many requests, please try again later.";
    else if (code == 503)
      message = "the server is currently unable to handle the request";
    else if (code == 504)
      message = "the server was unable to return a response in the time allotted";
    else
      message = "an error on the server has prevented the request from succeeding";
  }
  return {code, reason, std::move(message), {}, {}};
}

}  // namespace distls::k8s_double
