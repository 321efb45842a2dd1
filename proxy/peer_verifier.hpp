// DESIGN section 4: a peer is the node whose name's host part is in its certificate's
// IP/DNS SANs. The chain and the usage are checked by OpenSSL during the handshake; this
// file holds the name check and the translation of failures into stable reasons.
#pragma once

#include <string>
#include <vector>

#include "distls/node_name.hpp"
#include "distls/ossl.hpp"

namespace distls {

// Exact SAN match: IP SANs for IP hosts (compared as addresses), DNS SANs for names,
// case-insensitive, no wildcards, never the subject CN.
bool cert_matches_host(X509* cert, const NodeName& node);

// --allow-peer: true when `allowed` is empty, or one of the cert's URI SANs equals an
// entry, or starts with an entry that ends in '*' (spiffe://td/ns/shop/*).
bool cert_allowed(X509* cert, const std::vector<std::string>& allowed);

// Asks OpenSSL to check the dialled host during the handshake, so that a wrong server
// fails before a byte of distribution traffic is sent; sets SNI for DNS names.
// Returns false when OpenSSL refuses the parameter.
bool expect_peer_host(SSL* ssl, const NodeName& node);

// A short, stable label for a failed handshake (the metric label), e.g.
// "untrusted_chain", "cert_expired", "name_mismatch", "bad_usage", "no_peer_cert".
std::string classify_verify_failure(long x509_verify_result);

}  // namespace distls
