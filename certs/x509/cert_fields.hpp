// Internal to certs/: the pieces a certificate and a CSR share, so that what we request
// and what we issue are built by the same code (subject, SANs, usages, digest).
#pragma once

#include <string>

#include "distls/x509/cert_builder.hpp"
#include "distls/x509/ossl.hpp"

namespace distls::certs::detail {

// Fills an empty subject: O=distls, CN=common_name (cut at 64 octets on a UTF-8 boundary).
void set_subject(X509_NAME* name, const std::string& common_name);

// IA5String SAN values we accept: non-empty, 7-bit printable, no spaces.
bool is_printable_ia5(const std::string& value);
// Throws, naming `kind` ("DNS", "URI"), unless is_printable_ia5(value).
void check_ia5(const std::string& value, const char* kind);

// The SANs as a subjectAltName extension (non-critical), or null when there are none.
// Throws on an unparseable IP or a DNS/URI failing check_ia5.
ossl::X509Ext san_extension(const Sans& sans);

// An extension from its config-string form ("critical,CA:FALSE"); ctx may be null for
// extensions that need no issuer or subject (key usages).
ossl::X509Ext make_ext(X509V3_CTX* ctx, int nid, const char* value);

// keyUsage for a TLS leaf holding `key`, in make_ext form.
const char* leaf_key_usage(EVP_PKEY* key);

// Every distls leaf both dials peers and accepts them.
inline constexpr const char* kLeafExtKeyUsage = "serverAuth,clientAuth";

// The digest to sign with `key`: SHA-256, or null for keys that sign the message itself.
const EVP_MD* digest_for(EVP_PKEY* key);

}  // namespace distls::certs::detail
