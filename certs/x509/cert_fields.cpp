#include "cert_fields.hpp"

#include <string>

namespace distls::certs::detail {
namespace {

void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(value.c_str());
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, bytes, -1, -1, 0) != 1)
    ossl::fail(std::string("setting subject ") + field + "=" + value);
}

// RFC 5280's ub-common-name, which OpenSSL enforces; Erlang node names may be longer.
constexpr std::size_t kMaxCommonName = 64;

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

}  // namespace

// The CN is informational only (peers are matched on SANs), so a long one is cut, not
// refused; O tells our certs apart from others in the same trust store.
void set_subject(X509_NAME* name, const std::string& common_name) {
  if (common_name.empty()) throw ossl::Error("certificate common name is empty");
  std::string cn = common_name;
  if (cn.size() > kMaxCommonName) {
    std::size_t n = kMaxCommonName;
    while (n > 0 && (static_cast<unsigned char>(cn[n]) & 0xc0) == 0x80) --n;  // UTF-8 boundary
    cn.resize(n);
  }
  add_name_entry(name, "O", "distls");
  add_name_entry(name, "CN", cn);
}

// Spaces and control characters in a name would only ever be a mistake or an attack on
// whoever prints or matches it.
bool is_printable_ia5(const std::string& value) {
  if (value.empty()) return false;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

void check_ia5(const std::string& value, const char* kind) {
  if (value.empty()) throw ossl::Error(std::string("empty ") + kind + " SAN");
  if (!is_printable_ia5(value))
    throw ossl::Error(std::string(kind) + " SAN '" + value +
                      "' has a space, control or non-ASCII character");
}

ossl::X509Ext san_extension(const Sans& sans) {
  ossl::GeneralNames names{sk_GENERAL_NAME_new_null()};
  if (!names) ossl::fail("allocating subjectAltName");
  for (const std::string& ip : sans.ips) {
    ASN1_OCTET_STRING* oct = a2i_IPADDRESS(ip.c_str());
    if (oct == nullptr) ossl::fail("IP SAN '" + ip + "' is not an IPv4 or IPv6 address");
    push_name(names.get(), GEN_IPADD, oct, ip);
  }
  for (const std::string& dns : sans.dns) push_ia5(names.get(), GEN_DNS, dns, "DNS");
  for (const std::string& uri : sans.uris) push_ia5(names.get(), GEN_URI, uri, "URI");
  if (sk_GENERAL_NAME_num(names.get()) == 0) return nullptr;
  ossl::X509Ext ext{X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get())};
  if (!ext) ossl::fail("encoding subjectAltName");
  return ext;
}

ossl::X509Ext make_ext(X509V3_CTX* ctx, int nid, const char* value) {
  ossl::X509Ext ext{X509V3_EXT_nconf_nid(nullptr, ctx, nid, value)};
  if (!ext) ossl::fail(std::string("building ") + OBJ_nid2sn(nid) + " extension '" + value + "'");
  return ext;
}

// keyEncipherment only means something for RSA key transport (TLS 1.2 RSA kx).
const char* leaf_key_usage(EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? "critical,digitalSignature,keyEncipherment"
                                                   : "critical,digitalSignature";
}

// Ed25519/Ed448 sign the message itself and take no digest; everything else gets SHA-256.
const EVP_MD* digest_for(EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? nullptr : EVP_sha256();
}

}  // namespace distls::certs::detail
