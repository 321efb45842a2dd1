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

#include "tests/k8s/api_error.hpp"

namespace distls::k8s_double {

struct Schema {
  enum class Type { any, string, integer, boolean, bytes, time, object, array, map };
  Type type = Type::any;
  std::map<std::string, Schema> fields;  // object
  std::shared_ptr<Schema> item;          // array and map values

  static Schema of(Type t) { return Schema{t, {}, nullptr}; }
  static Schema object(std::map<std::string, Schema> f) {
    return Schema{Type::object, std::move(f), nullptr};
  }
  static Schema array(Schema item) {
    return Schema{Type::array, {}, std::make_shared<Schema>(std::move(item))};
  }
  static Schema map(Schema item) { return Schema{Type::map, {}, std::make_shared<Schema>(std::move(item))}; }
};

Schema object_meta_schema();
Schema csr_schema();
Schema lease_schema();

enum class FieldValidation { ignore, warn, strict };

struct Decoded {
  boost::json::object object;
  std::vector<std::string> warnings;  // "unknown field \"spec.foo\""
};

// `kind` / `api_version` are what the URL implies; a body naming another is refused.
Expected<Decoded> decode_object(std::string_view body, const Schema& schema, const std::string& kind,
                                const std::string& api_version, FieldValidation mode);

}  // namespace distls::k8s_double
