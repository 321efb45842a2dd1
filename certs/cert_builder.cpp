#include "distls/cert_builder.hpp"

#include <array>
#include <ctime>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/rand.h>

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

void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(value.c_str());
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, bytes, -1, -1, 0) != 1)
    ossl::fail(std::string("setting subject ") + field + "=" + value);
}

// RFC 5280's ub-common-name, which OpenSSL enforces; Erlang node names may be longer.
constexpr std::size_t kMaxCommonName = 64;

// Subject of every distls cert: CN for people reading logs, O to tell ours apart. The CN
// is informational only (peers are matched on SANs), so a long one is cut, not refused.
void set_subject(X509* x, const std::string& common_name) {
  if (common_name.empty()) throw ossl::Error("certificate common name is empty");
  std::string cn = common_name;
  if (cn.size() > kMaxCommonName) {
    std::size_t n = kMaxCommonName;
    while (n > 0 && (static_cast<unsigned char>(cn[n]) & 0xc0) == 0x80) --n;  // UTF-8 boundary
    cn.resize(n);
  }
  X509_NAME* name = X509_get_subject_name(x);
  add_name_entry(name, "O", "distls");
  add_name_entry(name, "CN", cn);
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
  ossl::X509Ext ext{X509V3_EXT_nconf_nid(nullptr, ctx, nid, value)};
  if (!ext) ossl::fail(std::string("building ") + OBJ_nid2sn(nid) + " extension '" + value + "'");
  if (X509_add_ext(x, ext.get(), -1) != 1)
    ossl::fail(std::string("adding ") + OBJ_nid2sn(nid) + " extension");
}

// IA5String SANs must be 7-bit; spaces and control characters would only ever be a
// mistake or an attack on whoever prints or matches the name.
void check_ia5(const std::string& value, const char* kind) {
  if (value.empty()) throw ossl::Error(std::string("empty ") + kind + " SAN");
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f)
      throw ossl::Error(std::string(kind) + " SAN '" + value +
                        "' has a space, control or non-ASCII character");
  }
}

void push_name(GENERAL_NAMES* names, int type, void* value, const std::string& text) {
  GENERAL_NAME* gen = GENERAL_NAME_new();
  if (gen == nullptr) {
    if (type == GEN_IPADD) {
      ASN1_OCTET_STRING_free(static_cast<ASN1_OCTET_STRING*>(value));
    } else {
      ASN1_IA5STRING_free(static_cast<ASN1_IA5STRING*>(value));
    }
    ossl::fail("allocating SAN " + text);
  }
  GENERAL_NAME_set0_value(gen, type, value);
  if (sk_GENERAL_NAME_push(names, gen) == 0) {
    GENERAL_NAME_free(gen);
    ossl::fail("adding SAN " + text);
  }
}

void push_ia5(GENERAL_NAMES* names, int type, const std::string& value, const char* kind) {
  check_ia5(value, kind);
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  if (s == nullptr || ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) != 1) {
    ASN1_IA5STRING_free(s);
    ossl::fail(std::string("building ") + kind + " SAN " + value);
  }
  push_name(names, type, s, value);
}

void add_sans(X509* x, const Sans& sans) {
  ossl::GeneralNames names{sk_GENERAL_NAME_new_null()};
  if (!names) ossl::fail("allocating subjectAltName");
  for (const std::string& ip : sans.ips) {
    ASN1_OCTET_STRING* oct = a2i_IPADDRESS(ip.c_str());
    if (oct == nullptr) ossl::fail("IP SAN '" + ip + "' is not an IPv4 or IPv6 address");
    push_name(names.get(), GEN_IPADD, oct, ip);
  }
  for (const std::string& dns : sans.dns) push_ia5(names.get(), GEN_DNS, dns, "DNS");
  for (const std::string& uri : sans.uris) push_ia5(names.get(), GEN_URI, uri, "URI");
  if (sk_GENERAL_NAME_num(names.get()) == 0) return;
  if (X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    ossl::fail("adding subjectAltName");
}

// Ed25519/Ed448 sign the message itself and take no digest; everything else gets SHA-256.
const EVP_MD* digest_for(EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? nullptr : EVP_sha256();
}

void sign(X509* x, EVP_PKEY* key, const char* what) {
  if (X509_sign(x, key, digest_for(key)) <= 0) ossl::fail(std::string("signing ") + what);
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
  // keyEncipherment only means something for RSA key transport (TLS 1.2 RSA kx).
  add_ext(x.get(), &ctx, NID_key_usage,
          EVP_PKEY_get_base_id(subject_key) == EVP_PKEY_RSA
              ? "critical,digitalSignature,keyEncipherment"
              : "critical,digitalSignature");
  // Both: every distls both dials peers and accepts them.
  add_ext(x.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
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
