#include "proxy/peer_verifier.hpp"

namespace distls {
namespace {
constexpr unsigned kHostFlags = X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
}

bool cert_matches_host(X509* cert, const NodeName& node) {
  if (cert == nullptr || node.host.empty()) return false;
  if (node.host_is_ip) return X509_check_ip_asc(cert, node.host.c_str(), 0) == 1;
  return X509_check_host(cert, node.host.data(), node.host.size(), kHostFlags, nullptr) == 1;
}

bool cert_allowed(X509* cert, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return true;
  if (cert == nullptr) return false;
  ossl::GeneralNames names{static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))};
  if (!names) return false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type != GEN_URI) continue;
    const std::string uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.uniformResourceIdentifier)),
                          static_cast<std::size_t>(ASN1_STRING_length(n->d.uniformResourceIdentifier)));
    for (const auto& a : allowed) {
      if (!a.empty() && a.back() == '*' ? uri.starts_with(std::string_view(a).substr(0, a.size() - 1)) : uri == a)
        return true;
    }
  }
  return false;
}

bool expect_peer_host(SSL* ssl, const NodeName& node) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, kHostFlags);
  if (node.host_is_ip) return X509_VERIFY_PARAM_set1_ip_asc(param, node.host.c_str()) == 1;
  return X509_VERIFY_PARAM_set1_host(param, node.host.c_str(), node.host.size()) == 1 &&
         SSL_set_tlsext_host_name(ssl, node.host.c_str()) == 1;
}

std::string classify_verify_failure(long r) {
  switch (r) {
    case X509_V_OK:
      return "ok";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "cert_expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "cert_not_yet_valid";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "name_mismatch";
    case X509_V_ERR_INVALID_PURPOSE:
      return "bad_usage";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "untrusted_chain";
    default:
      return "cert_invalid";
  }
}

}  // namespace distls
