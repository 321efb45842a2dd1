// Small helpers for reading Kubernetes objects held as Boost.JSON values.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "tests/k8s/store/selectors.hpp"

namespace distls::k8s_double {

// The object at a path of keys, or nullptr when a step is missing or not an object.
const boost::json::object* object_at(const boost::json::object& o,
                                     std::initializer_list<std::string_view> path);
// The string at a path of keys, or "" when missing or not a string.
std::string string_at(const boost::json::object& o, std::initializer_list<std::string_view> path);

std::string name_of(const boost::json::object& obj);       // metadata.name
std::string namespace_of(const boost::json::object& obj);  // metadata.namespace
LabelSet labels_of(const boost::json::object& obj);        // metadata.labels (strings only)

// metav1.Time: RFC 3339 in UTC with second precision, "2024-05-01T10:00:00Z".
std::string format_time(std::chrono::system_clock::time_point t);

// Decimal resourceVersion text back to a number; nullopt-like 0 for anything else.
bool parse_resource_version(std::string_view text, std::uint64_t& out);

// Randomness the server needs: UIDs, generateName suffixes, tokens. Seeded once by main;
// tests seed it to a constant.
class IdSource {
 public:
  explicit IdSource(std::uint64_t seed) : rng_(seed) {}
  std::string uid();                          // RFC 4122 version 4 text
  std::string name_suffix();                  // 5 chars, as names.SimpleNameGenerator
  std::string token(std::size_t bytes = 24);  // url-safe, no padding

 private:
  std::mt19937_64 rng_;
};

}  // namespace distls::k8s_double
