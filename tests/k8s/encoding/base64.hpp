// Standard base64 (RFC 4648, padded), the encoding Kubernetes JSON uses for []byte fields
// such as spec.request and status.certificate.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace distls::k8s_double {

std::string base64_encode(std::string_view data);

// As Go's encoding/base64.StdEncoding (which encoding/json uses): CR and LF are skipped,
// padding is required. On failure `bad_at` is the offset Go would report in
// "illegal base64 data at input byte N".
std::optional<std::string> base64_decode(std::string_view text, std::size_t* bad_at = nullptr);

}  // namespace distls::k8s_double
