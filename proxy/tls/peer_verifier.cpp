#include "distls/tls/peer_verifier.hpp"

namespace distls {
namespace {

constexpr unsigned kHostFlags = X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;

bool uri_allowed(std::string_view uri, std::string_view entry) {
  if (entry.empty()) return false;
  if (entry.back() != '*') return uri == entry;
  entry.remove_suffix(1);
  if (entry.ends_with('/')) entry.remove_suffix(1);
  // The boundary: what follows the prefix must start a new segment.
  return uri.starts_with(entry) && (uri.size() == entry.size() || uri[entry.size()] == '/');
}

int verify_with_usage(int preverified, X509_STORE_CTX* ctx, PeerRole role) {
  if (preverified != 1 || X509_STORE_CTX_get_error_depth(ctx) != 0) return preverified;
  if (has_required_usage(X509_STORE_CTX_get_current_cert(ctx), role)) return 1;
  X509_STORE_CTX_set_error(ctx, X509_V_ERR_INVALID_PURPOSE);
  return 0;
}

}  // namespace

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
    const std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.uniformResourceIdentifier)),
                               static_cast<std::size_t>(ASN1_STRING_length(n->d.uniformResourceIdentifier)));
    for (const auto& a : allowed)
      if (uri_allowed(uri, a)) return true;
  }
  return false;
}

bool has_required_usage(X509* cert, PeerRole role) {
  if (cert == nullptr) return false;
  // X509_get_extension_flags caches the parsed extensions; EXFLAG_XKUSAGE says the
  // extension is there at all (X509_get_extended_key_usage answers "any" without it).
  if ((X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) == 0) return false;
  const auto usage = X509_get_extended_key_usage(cert);
  return (usage & (role == PeerRole::client ? XKU_SSL_CLIENT : XKU_SSL_SERVER)) != 0;
}

int verify_client_peer(int preverified, X509_STORE_CTX* ctx) {
  return verify_with_usage(preverified, ctx, PeerRole::client);
}

int verify_server_peer(int preverified, X509_STORE_CTX* ctx) {
  return verify_with_usage(preverified, ctx, PeerRole::server);
}

std::optional<Reverify> reverify_peer(X509_STORE* store, X509* leaf, STACK_OF(X509) * untrusted, PeerRole role) {
  if (leaf == nullptr) return Reverify{"no_peer_cert", "the tunnel holds no peer certificate"};
  ossl::X509StoreCtx ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted) != 1)
    return Reverify{"cert_invalid", "could not set up verification: " + ossl::drain_errors()};
  X509_STORE_CTX_set_purpose(ctx.get(), role == PeerRole::client ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx.get()), X509_V_FLAG_NO_CHECK_TIME);
  X509_STORE_CTX_set_verify_cb(ctx.get(), role == PeerRole::client ? verify_client_peer : verify_server_peer);
  if (X509_verify_cert(ctx.get()) == 1) return std::nullopt;
  const int err = X509_STORE_CTX_get_error(ctx.get());
  ossl::drain_errors();
  return Reverify{classify_verify_failure(err), X509_verify_cert_error_string(err)};
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
