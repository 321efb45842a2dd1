// Base64 as the Kubernetes API uses it for CSRs and certificates (standard alphabet,
// padded).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace distls {

std::string base64_encode(std::string_view in);
// nullopt when `in` is not entirely valid base64.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace distls
