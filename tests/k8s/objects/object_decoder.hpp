// Decoding a request body into a known object shape, as the apiserver's JSON serializer
// does: type mismatches and bad base64 are 400 BadRequest, unknown fields are dropped, and
// reported according to the fieldValidation query parameter (Strict: 400 "strict decoding
// error"; Warn, the default: a Warning header; Ignore: silently).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "tests/k8s/http/api_error.hpp"

namespace distls::k8s_double {

struct Schema {
  // integer is Go's int64, int32 a field declared int32 (out of range: 400, as
  // encoding/json reports it); time is metav1.Time (RFC 3339), micro_time metav1.MicroTime
  // (RFC 3339 with exactly six fractional digits).
  enum class Type { any, string, integer, int32, boolean, bytes, time, micro_time, object, array, map };
  Type type = Type::any;
  std::map<std::string, Schema> fields;  // object
  std::shared_ptr<Schema> item;          // array and map values
  std::string go_struct;                 // object: the Go type's name, for decoding errors

  static Schema of(Type t) { return Schema{t, {}, nullptr, {}}; }
  static Schema object(std::map<std::string, Schema> f, std::string go_struct = {}) {
    return Schema{Type::object, std::move(f), nullptr, std::move(go_struct)};
  }
  static Schema array(Schema item) {
    return Schema{Type::array, {}, std::make_shared<Schema>(std::move(item)), {}};
  }
  static Schema map(Schema item) {
    return Schema{Type::map, {}, std::make_shared<Schema>(std::move(item)), {}};
  }
};

Schema object_meta_schema();
Schema csr_schema();
Schema lease_schema();
Schema role_schema(bool cluster);          // Role, ClusterRole (rbac.authorization.k8s.io/v1)
Schema role_binding_schema(bool cluster);  // RoleBinding, ClusterRoleBinding
Schema event_schema();                     // core/v1 Event
Schema configmap_schema();                 // core/v1 ConfigMap
Schema access_review_schema();             // SelfSubjectAccessReview (authorization.k8s.io/v1)

enum class FieldValidation { ignore, warn, strict };

struct Decoded {
  boost::json::object object;
  std::vector<std::string> warnings;  // "unknown field \"spec.foo\""
};

// `kind` / `api_version` are what the URL implies; a body naming another is refused.
Expected<Decoded> decode_object(std::string_view body, const Schema& schema, const std::string& kind,
                                const std::string& api_version, FieldValidation mode);

}  // namespace distls::k8s_double
