// Certificate signing requests (PKCS#10): what the local-ca and k8s-csr sources send to a
// signer, and what a signer reads back before deciding what to grant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "distls/x509/cert_builder.hpp"
#include "distls/x509/ossl.hpp"

namespace distls::certs {

// A CSR for `key`, subject O=distls CN=common_name, signed with the key (SHA-256; none for
// Ed25519/Ed448). Its extensionRequest attribute asks for the SANs, keyUsage
// digitalSignature and extendedKeyUsage serverAuth+clientAuth: the same leaf sign_leaf
// builds, so a signer that grants the request as asked issues what we would issue.
ossl::X509Req make_csr(EVP_PKEY* key, const std::string& common_name, const Sans& sans);

std::string csr_to_pem(X509_REQ* req);  // "-----BEGIN CERTIFICATE REQUEST-----"

// Exactly one CERTIFICATE REQUEST block and nothing else that is PEM; throws ossl::Error
// naming `source` when malformed or when the CSR's self-signature does not verify (the
// requester does not hold the key, or the request was altered on the way).
ossl::X509Req read_csr(std::string_view pem, std::string_view source = "input");

// What a CSR asks for, for a signer to check against what it is willing to grant.
struct CsrInfo {
  std::string common_name;  // first CN of the subject, "" when it has none
  Sans sans;                // IPs canonical (inet_ntop), DNS lower-cased, URIs as given
  // Every other requested SAN as text ("email:...", "othername:...", a DNS or URI name
  // that is not printable 7-bit ASCII, escaped). A signer refuses a CSR with any of these.
  std::vector<std::string> other_sans;
};

// Throws ossl::Error on a malformed extensionRequest or more than one subjectAltName.
CsrInfo inspect_csr(X509_REQ* req);

// The requested public key (a new reference).
ossl::PKey csr_public_key(X509_REQ* req);

// A leaf for the CSR's public key carrying exactly spec's CN, SANs and TTL, via
// sign_leaf: the caller decides what to grant, and nothing the CSR asks for (its
// extensions, its subject) is copied. Refuses a CSR whose self-signature does not verify.
ossl::X509Ptr sign_csr(X509_REQ* req, const LeafSpec& spec, X509* issuer, EVP_PKEY* issuer_key);

}  // namespace distls::certs
