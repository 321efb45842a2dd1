#include "distls/x509/cert_builder.hpp"

#include <array>
#include <ctime>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/rand.h>

#include "cert_fields.hpp"

namespace distls::certs {
namespace {

// RFC 5280 caps serials at 20 octets; 128 random bits with the top bit clear stays
// positive (no sign octet) and is unguessable, which is what the CA/B forum asks for.
ossl::Asn1Integer random_serial() {
  std::array<unsigned char, 16> bytes{};
  bool zero = true;
  while (zero) {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
      ossl::fail("generating a certificate serial");
    bytes[0] &= 0x7f;
    for (unsigned char b : bytes) zero = zero && b == 0;
  }
  ossl::BigNum bn{BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr)};
  if (!bn) ossl::fail("generating a certificate serial");
  ossl::Asn1Integer serial{BN_to_ASN1_INTEGER(bn.get(), nullptr)};
  if (!serial) ossl::fail("generating a certificate serial");
  return serial;
}

// Same ceiling as parse_duration: keeps day counts and time_t arithmetic far from overflow.
constexpr std::chrono::seconds kMaxTtl{36525LL * 86400};

void check_ttl(std::chrono::seconds ttl, const char* what) {
  if (ttl.count() <= 0) throw ossl::Error(std::string(what) + ": lifetime must be positive");
  if (ttl > kMaxTtl) throw ossl::Error(std::string(what) + ": lifetime over 100 years");
}

void set_subject(X509* x, const std::string& common_name) {
  detail::set_subject(X509_get_subject_name(x), common_name);
}

// Splitting into days keeps the offset within ASN1_TIME_adj's int day argument.
void set_time(ASN1_TIME* field, std::time_t now, std::chrono::seconds offset, const char* what) {
  const long long s = offset.count();
  const auto days = static_cast<int>(s / 86400);
  const auto secs = static_cast<long>(s % 86400);
  if (ASN1_TIME_adj(field, now, days, secs) == nullptr) ossl::fail(std::string("setting ") + what);
}

ossl::X509Ptr new_cert(EVP_PKEY* subject_key) {
  ossl::X509Ptr x{X509_new()};
  if (!x) ossl::fail("allocating a certificate");
  if (X509_set_version(x.get(), X509_VERSION_3) != 1) ossl::fail("setting certificate version");
  ossl::Asn1Integer serial = random_serial();
  if (X509_set_serialNumber(x.get(), serial.get()) != 1) ossl::fail("setting certificate serial");
  if (X509_set_pubkey(x.get(), subject_key) != 1) ossl::fail("setting certificate public key");
  return x;
}

// Extensions from their config-string form: OpenSSL computes SKI/AKI from the context.
void add_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
  ossl::X509Ext ext = detail::make_ext(ctx, nid, value);
  if (X509_add_ext(x, ext.get(), -1) != 1)
    ossl::fail(std::string("adding ") + OBJ_nid2sn(nid) + " extension");
}

void add_sans(X509* x, const Sans& sans) {
  ossl::X509Ext ext = detail::san_extension(sans);
  if (ext && X509_add_ext(x, ext.get(), -1) != 1) ossl::fail("adding subjectAltName");
}

void sign(X509* x, EVP_PKEY* key, const char* what) {
  if (X509_sign(x, key, detail::digest_for(key)) <= 0) ossl::fail(std::string("signing ") + what);
}

}  // namespace

ossl::X509Ptr make_self_signed_ca(EVP_PKEY* key, const std::string& common_name,
                                  std::chrono::seconds ttl) {
  if (key == nullptr) throw ossl::Error("CA certificate: no CA key");
  check_ttl(ttl, "CA certificate");
  ossl::X509Ptr x = new_cert(key);
  set_subject(x.get(), common_name);
  if (X509_set_issuer_name(x.get(), X509_get_subject_name(x.get())) != 1)
    ossl::fail("setting CA issuer name");
  // Backdated like leaves: a CA only valid from "now" is rejected by peers whose clock
  // runs slightly behind ours, taking every leaf it signs down with it.
  const std::time_t now = std::time(nullptr);
  set_time(X509_getm_notBefore(x.get()), now, -LeafSpec{}.backdate, "CA notBefore");
  set_time(X509_getm_notAfter(x.get()), now, ttl, "CA notAfter");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(x.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash");
  sign(x.get(), key, "CA certificate with the CA key");
  return x;
}

ossl::X509Ptr sign_leaf(const LeafSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                        EVP_PKEY* issuer_key) {
  if (subject_key == nullptr) throw ossl::Error("leaf certificate: no subject key");
  if (issuer == nullptr) throw ossl::Error("leaf certificate: no CA certificate");
  if (issuer_key == nullptr) throw ossl::Error("leaf certificate: no CA key");
  check_ttl(spec.ttl, "leaf certificate");
  if (spec.backdate.count() < 0 || spec.backdate > kMaxTtl)
    throw ossl::Error("leaf certificate: backdate out of range");
  if (X509_check_private_key(issuer, issuer_key) != 1)
    ossl::fail("leaf certificate: CA key does not match the CA certificate");

  const std::time_t now = std::time(nullptr);
  // A leaf outliving its issuer could never verify; better to say so than to cap it to
  // a cert that is born dead.
  const int alive = X509_cmp_time(X509_get0_notAfter(issuer), nullptr);
  if (alive == 0) ossl::fail("leaf certificate: reading the CA's notAfter");
  if (alive < 0) throw ossl::Error("leaf certificate: the CA certificate has expired");

  ossl::X509Ptr x = new_cert(subject_key);
  set_subject(x.get(), spec.common_name);
  if (X509_set_issuer_name(x.get(), X509_get_subject_name(issuer)) != 1)
    ossl::fail("setting leaf issuer name");
  set_time(X509_getm_notBefore(x.get()), now, -spec.backdate, "leaf notBefore");
  set_time(X509_getm_notAfter(x.get()), now, spec.ttl, "leaf notAfter");
  // X509_cmp_time returns -1 when the issuer's notAfter comes before the wanted one.
  std::time_t wanted = now + static_cast<std::time_t>(spec.ttl.count());
  const int cmp = X509_cmp_time(X509_get0_notAfter(issuer), &wanted);
  if (cmp == 0) ossl::fail("leaf certificate: reading the CA's notAfter");
  if (cmp < 0 && X509_set1_notAfter(x.get(), X509_get0_notAfter(issuer)) != 1)
    ossl::fail("leaf certificate: capping notAfter at the CA's");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, x.get(), nullptr, nullptr, 0);
  add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(x.get(), &ctx, NID_key_usage, detail::leaf_key_usage(subject_key));
  add_ext(x.get(), &ctx, NID_ext_key_usage, detail::kLeafExtKeyUsage);
  add_sans(x.get(), spec.sans);
  add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(x.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  sign(x.get(), issuer_key, "leaf certificate with the CA key");
  return x;
}

Sans sans_for_host(const std::string& host) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  Sans sans;
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1) {
    sans.ips.push_back(std::move(h));
  } else {
    sans.dns.push_back(host);
  }
  return sans;
}

}  // namespace distls::certs
