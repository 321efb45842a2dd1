#include "tests/k8s/encoding/base64.hpp"

#include <cstdint>

namespace distls::k8s_double {

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = static_cast<std::uint8_t>(data[i]) << 16 |
                            static_cast<std::uint8_t>(data[i + 1]) << 8 |
                            static_cast<std::uint8_t>(data[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    std::uint32_t v = static_cast<std::uint8_t>(data[i]) << 16;
    if (rest == 2) v |= static_cast<std::uint8_t>(data[i + 1]) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += rest == 2 ? kAlphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, std::size_t* bad_at) {
  std::string out;
  std::uint32_t acc = 0;
  int n = 0;        // sextets in the current quantum
  int padding = 0;  // '=' seen
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') continue;
    const auto fail = [&] {
      if (bad_at != nullptr) *bad_at = i;
      return std::nullopt;
    };
    if (c == '=') {
      if (n < 2) return fail();
      ++padding;
      if (n + padding > 4) return fail();
      continue;
    }
    const int v = value_of(c);
    if (v < 0 || padding > 0) return fail();
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    if (++n == 4) {
      out += static_cast<char>(acc >> 16 & 0xff);
      out += static_cast<char>(acc >> 8 & 0xff);
      out += static_cast<char>(acc & 0xff);
      acc = 0;
      n = 0;
    }
  }
  if (n != 0) {
    if (n + padding != 4) {
      if (bad_at != nullptr) *bad_at = text.size();
      return std::nullopt;
    }
    if (n == 2) out += static_cast<char>(acc >> 4 & 0xff);
    if (n == 3) {
      out += static_cast<char>(acc >> 10 & 0xff);
      out += static_cast<char>(acc >> 2 & 0xff);
    }
  } else if (padding != 0) {
    if (bad_at != nullptr) *bad_at = text.size();
    return std::nullopt;
  }
  return out;
}

}  // namespace distls::k8s_double
