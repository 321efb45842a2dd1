#include "tests/k8s/encoding/json_util.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace distls::k8s_double {

namespace json = boost::json;

const json::object* object_at(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::object* cur = &o;
  for (auto key : path) {
    const auto it = cur->find(key);
    if (it == cur->end() || !it->value().is_object()) return nullptr;
    cur = &it->value().get_object();
  }
  return cur;
}

std::string string_at(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::object* cur = &o;
  std::size_t i = 0;
  for (auto key : path) {
    const auto it = cur->find(key);
    if (it == cur->end()) return {};
    if (++i == path.size()) return it->value().is_string() ? std::string(it->value().get_string()) : "";
    if (!it->value().is_object()) return {};
    cur = &it->value().get_object();
  }
  return {};
}

std::string name_of(const json::object& obj) { return string_at(obj, {"metadata", "name"}); }
std::string namespace_of(const json::object& obj) { return string_at(obj, {"metadata", "namespace"}); }

LabelSet labels_of(const json::object& obj) {
  LabelSet out;
  if (const auto* labels = object_at(obj, {"metadata", "labels"}))
    for (const auto& kv : *labels)
      if (kv.value().is_string()) out.emplace(kv.key(), kv.value().get_string());
  return out;
}

std::string format_time(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

bool parse_resource_version(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

std::string IdSource::uid() {
  const std::uint64_t hi = rng_(), lo = rng_();
  unsigned char b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

std::string IdSource::name_suffix() {
  // k8s.io/apimachinery/pkg/util/rand: no vowels (no words) and no confusable 0/1/3.
  static constexpr std::string_view alphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < 5; ++i) s += alphabet[rng_() % alphabet.size()];
  return s;
}

std::string IdSource::token(std::size_t bytes) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string s;
  for (std::size_t i = 0; i < bytes * 4 / 3; ++i) s += alphabet[rng_() % alphabet.size()];
  return s;
}

}  // namespace distls::k8s_double
