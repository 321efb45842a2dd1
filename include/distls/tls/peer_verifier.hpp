// DESIGN section 4: a peer is the node whose name's host part is in its certificate's
// IP/DNS SANs. The chain and the usage are checked by OpenSSL during the handshake (with
// the callbacks below making extendedKeyUsage mandatory); this file holds the name
// check, the re-verification of live tunnels after a trust change, and the translation
// of failures into stable reasons.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "distls/util/node_name.hpp"
#include "distls/x509/ossl.hpp"

namespace distls {

// Which side of a handshake the certificate being judged belongs to: a dialling peer
// must carry clientAuth, a dialled one serverAuth.
enum class PeerRole { client, server };

// Exact SAN match: IP SANs for IP hosts (compared as addresses), DNS SANs for names,
// case-insensitive, no wildcards, never the subject CN.
bool cert_matches_host(X509* cert, const NodeName& node);

// --allow-peer: true when `allowed` is empty, or one of the cert's URI SANs equals an
// entry, or lies under an entry that ends in '*' (spiffe://td/ns/shop/* or .../ns/shop*).
// A prefix ends at a path segment: /ns/shop admits /ns/shop/sa/app, never /ns/shopping.
bool cert_allowed(X509* cert, const std::vector<std::string>& allowed);

// RFC 5280 lets a certificate without extendedKeyUsage serve any purpose, and OpenSSL's
// purpose check follows it. distls issues every leaf with both usages, so a leaf without
// the one its role needs was made for something else: refused.
bool has_required_usage(X509* cert, PeerRole role);

// SSL_CTX_set_verify callbacks that add the usage rule to OpenSSL's chain check; a
// failure surfaces as X509_V_ERR_INVALID_PURPOSE ("bad_usage").
int verify_client_peer(int preverified, X509_STORE_CTX* ctx);
int verify_server_peer(int preverified, X509_STORE_CTX* ctx);

// Verifies a live tunnel's peer again, against `store` (a new trust bundle): chain to a
// trusted CA, purpose and usage for `role`. Expiry is not re-judged: short-lived
// certificates expire under long-lived tunnels as a matter of course. Returns the stable
// reason and OpenSSL's words when the peer no longer verifies.
struct Reverify {
  std::string reason;  // "untrusted_chain", "bad_usage", ...
  std::string detail;
};
std::optional<Reverify> reverify_peer(X509_STORE* store, X509* leaf, STACK_OF(X509) * untrusted, PeerRole role);

// Asks OpenSSL to check the dialled host during the handshake, so that a wrong server
// fails before a byte of distribution traffic is sent; sets SNI for DNS names.
// Returns false when OpenSSL refuses the parameter.
bool expect_peer_host(SSL* ssl, const NodeName& node);

// A short, stable label for a failed handshake (the metric label), e.g.
// "untrusted_chain", "cert_expired", "name_mismatch", "bad_usage", "no_peer_cert".
std::string classify_verify_failure(long x509_verify_result);

}  // namespace distls
