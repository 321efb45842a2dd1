#include "distls/util/base64.hpp"

#include <boost/beast/core/detail/base64.hpp>

namespace distls {

namespace b64 = boost::beast::detail::base64;

std::string base64_encode(std::string_view in) {
  std::string out(b64::encoded_size(in.size()), '\0');
  out.resize(b64::encode(out.data(), in.data(), in.size()));
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(b64::decoded_size(in.size()), '\0');
  // decode() stops at the first '=' or invalid character: all of it must be read but
  // the padding, and padding only at the end.
  std::size_t padding = 0;
  while (padding < 2 && padding < in.size() && in[in.size() - 1 - padding] == '=') ++padding;
  const auto [written, read] = b64::decode(out.data(), in.data(), in.size() - padding);
  if (read != in.size() - padding) return std::nullopt;
  out.resize(written);
  return out;
}

}  // namespace distls
