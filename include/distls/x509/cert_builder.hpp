// Building and signing X.509 certificates: the CA's own, and short-lived leaves for nodes.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "distls/x509/ossl.hpp"

namespace distls::certs {

struct Sans {
  std::vector<std::string> dns;
  std::vector<std::string> ips;   // textual IPv4 or IPv6
  std::vector<std::string> uris;  // e.g. spiffe://td/ns/x/sa/y
};

struct LeafSpec {
  std::string common_name;  // informational only
  Sans sans;
  std::chrono::seconds ttl{24 * 3600};
  // Backdated so that a peer whose clock runs a little behind still accepts the cert.
  std::chrono::seconds backdate{300};
};

// A self-signed CA: basicConstraints CA:TRUE (critical), keyUsage keyCertSign+cRLSign
// (critical), subjectKeyIdentifier, random 128-bit serial.
ossl::X509Ptr make_self_signed_ca(EVP_PKEY* key, const std::string& common_name,
                                  std::chrono::seconds ttl);

// A leaf for `subject_key`, signed by issuer: CA:FALSE, keyUsage digitalSignature
// (critical), extendedKeyUsage serverAuth+clientAuth, the SANs, SKI and AKI, random
// positive 128-bit serial, notBefore = now - backdate, notAfter capped at the issuer's.
ossl::X509Ptr sign_leaf(const LeafSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                        EVP_PKEY* issuer_key);

// A SAN list for an Erlang node host: an IP SAN when host is an IP literal, else DNS.
Sans sans_for_host(const std::string& host);

}  // namespace distls::certs
