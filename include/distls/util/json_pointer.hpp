// Reading API objects: values found by JSON pointer (RFC 6901, "/spec/usages"), absent or
// of the wrong type answered as "not there", never an exception. An API server, a test
// double or a man in the middle may send any shape; the caller decides what a missing
// field means.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace distls::jsonp {

// One reference token for a key that may hold '/' or '~' ("authentication.kubernetes.io/pod-name").
inline std::string token(std::string_view key) {
  std::string out = "/";
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

inline const boost::json::value* find(const boost::json::value& v, std::string_view pointer) {
  boost::system::error_code ec;
  return v.find_pointer(pointer, ec);
}

// The string at `pointer`, or "" when there is none (or it is not a string).
inline std::string text(const boost::json::value& v, std::string_view pointer) {
  const auto* s = find(v, pointer);
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

inline std::optional<std::int64_t> integer(const boost::json::value& v, std::string_view pointer) {
  const auto* n = find(v, pointer);
  if (n && n->is_int64()) return n->as_int64();
  if (n && n->is_uint64() && n->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(n->as_uint64());
  return std::nullopt;
}

inline const boost::json::array* array(const boost::json::value& v, std::string_view pointer) {
  const auto* a = find(v, pointer);
  return a ? a->if_array() : nullptr;
}

inline bool flag(const boost::json::value& v, std::string_view pointer) {
  const auto* b = find(v, pointer);
  return b && b->is_bool() && b->as_bool();
}

}  // namespace distls::jsonp
