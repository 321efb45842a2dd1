#include "distls/x509/csr.hpp"

#include <cstdio>
#include <memory>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/pem.h>

#include "cert_fields.hpp"
#include "pem_block.hpp"

namespace distls::certs {
namespace {

struct ExtStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
using ExtStack = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtStackFree>;

void push_ext(STACK_OF(X509_EXTENSION) * exts, ossl::X509Ext ext) {
  if (sk_X509_EXTENSION_push(exts, ext.get()) == 0) ossl::fail("CSR: collecting extensions");
  ext.release();  // now owned by the stack
}

// Proof of possession: only the holder of the private key can produce the signature, and
// it covers the subject, the key and every requested extension.
void verify_self_signature(X509_REQ* req, const std::string& what) {
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req);
  if (pub == nullptr) ossl::fail(what + ": the CSR has no usable public key");
  if (X509_REQ_verify(req, pub) == 1) return;
  const std::string why = ossl::drain_errors();
  throw ossl::Error(what + ": the CSR's signature does not verify against its public key" +
                    (why.empty() ? "" : " (" + why + ")"));
}

// X509_REQ_get_extensions reads only the first extensionRequest value; a CSR carrying
// more would ask different readers for different things, so it is refused instead.
ExtStack requested_extensions(X509_REQ* req) {
  int values = 0;
  for (const int nid : {NID_ext_req, NID_ms_ext_req}) {
    for (int i = X509_REQ_get_attr_by_NID(req, nid, -1); i >= 0;
         i = X509_REQ_get_attr_by_NID(req, nid, i)) {
      values += X509_ATTRIBUTE_count(X509_REQ_get_attr(req, i));
    }
  }
  if (values > 1) throw ossl::Error("CSR: more than one extensionRequest");
  ExtStack exts{X509_REQ_get_extensions(req)};
  if (!exts) ossl::fail("CSR: malformed extensionRequest");
  return exts;
}

std::string first_common_name(const X509_NAME* name) {
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return {};
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (n < 0) ossl::fail("CSR: reading the subject CN");
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::string ia5_text(const ASN1_IA5STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

// For other_sans: a name that failed check_ia5 may hold NULs or terminal escapes, and
// whoever reads the refusal should see exactly what was asked for.
std::string escaped(const std::string& s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u > 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out;
}

std::string general_name_text(GENERAL_NAME* gen) {
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  if (!bio || GENERAL_NAME_print(bio.get(), gen) != 1) ossl::fail("CSR: printing a SAN");
  return pem::detail::bio_contents(bio.get());
}

void add_requested_name(CsrInfo& info, GENERAL_NAME* gen) {
  switch (gen->type) {
    case GEN_IPADD: {
      const ASN1_OCTET_STRING* ip = gen->d.iPAddress;
      const int len = ASN1_STRING_length(ip);
      if (len != 4 && len != 16) {
        info.other_sans.push_back("IP:<" + std::to_string(len) + " octets>");
        return;
      }
      char buf[INET6_ADDRSTRLEN] = {};
      if (inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), buf, sizeof buf) ==
          nullptr)
        throw ossl::Error("CSR: formatting an IP SAN");
      info.sans.ips.emplace_back(buf);
      return;
    }
    case GEN_DNS: {
      std::string dns = ia5_text(gen->d.dNSName);
      if (!detail::is_printable_ia5(dns)) {
        info.other_sans.push_back("DNS:" + escaped(dns));
        return;
      }
      // DNS names compare case-insensitively (RFC 4343); one spelling keeps checks simple.
      for (char& c : dns) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      info.sans.dns.push_back(std::move(dns));
      return;
    }
    case GEN_URI: {
      std::string uri = ia5_text(gen->d.uniformResourceIdentifier);
      if (!detail::is_printable_ia5(uri)) {
        info.other_sans.push_back("URI:" + escaped(uri));
        return;
      }
      info.sans.uris.push_back(std::move(uri));
      return;
    }
    default:
      info.other_sans.push_back(general_name_text(gen));
  }
}

}  // namespace

ossl::X509Req make_csr(EVP_PKEY* key, const std::string& common_name, const Sans& sans) {
  if (key == nullptr) throw ossl::Error("CSR: no key");
  ossl::X509Req req{X509_REQ_new()};
  if (!req) ossl::fail("allocating a CSR");
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) ossl::fail("setting CSR version");
  detail::set_subject(X509_REQ_get_subject_name(req.get()), common_name);
  if (X509_REQ_set_pubkey(req.get(), key) != 1) ossl::fail("setting CSR public key");

  ExtStack exts{sk_X509_EXTENSION_new_null()};
  if (!exts) ossl::fail("allocating CSR extensions");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
  push_ext(exts.get(), detail::make_ext(&ctx, NID_key_usage, detail::leaf_key_usage(key)));
  push_ext(exts.get(), detail::make_ext(&ctx, NID_ext_key_usage, detail::kLeafExtKeyUsage));
  if (ossl::X509Ext san = detail::san_extension(sans)) push_ext(exts.get(), std::move(san));
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) ossl::fail("adding CSR extensions");

  if (X509_REQ_sign(req.get(), key, detail::digest_for(key)) <= 0) ossl::fail("signing the CSR");
  return req;
}

std::string csr_to_pem(X509_REQ* req) {
  if (req == nullptr) throw ossl::Error("CSR to PEM: no CSR");
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  if (!bio) ossl::fail("CSR to PEM: cannot create memory BIO");
  if (PEM_write_bio_X509_REQ(bio.get(), req) != 1) ossl::fail("CSR to PEM");
  return pem::detail::bio_contents(bio.get());
}

ossl::X509Req read_csr(std::string_view pem, std::string_view source) {
  const std::string src(source);
  ossl::Bio bio = pem::detail::memory_bio(pem, source);
  ossl::X509Req req;
  for (;;) {
    pem::detail::PemBlock block;
    if (!pem::detail::next_block(bio.get(), block, source)) break;
    const std::string_view name = block.name;
    // A key pasted beside the request is a mistake to point out, never to skip over.
    if (name != "CERTIFICATE REQUEST" && name != "NEW CERTIFICATE REQUEST")
      throw ossl::Error(src + ": unexpected " + block.name +
                        " block (expected a single CERTIFICATE REQUEST)");
    if (req) throw ossl::Error(src + ": more than one CERTIFICATE REQUEST block");
    pem::detail::require_single_der(block, source);
    const unsigned char* p = block.data;
    req.reset(d2i_X509_REQ(nullptr, &p, block.len));
    if (!req) ossl::fail(src + ": cannot decode CERTIFICATE REQUEST");
  }
  if (!req) throw ossl::Error(src + ": no CERTIFICATE REQUEST PEM block found");
  verify_self_signature(req.get(), src);
  return req;
}

CsrInfo inspect_csr(X509_REQ* req) {
  if (req == nullptr) throw ossl::Error("inspecting a CSR: no CSR");
  CsrInfo info;
  info.common_name = first_common_name(X509_REQ_get_subject_name(req));
  const ExtStack exts = requested_extensions(req);
  int crit = -1;
  ossl::GeneralNames names{static_cast<GENERAL_NAMES*>(
      X509V3_get_d2i(exts.get(), NID_subject_alt_name, &crit, nullptr))};
  if (!names) {
    if (crit == -2) throw ossl::Error("CSR: more than one subjectAltName extension");
    if (crit >= 0) ossl::fail("CSR: malformed subjectAltName extension");
    return info;  // -1: no SANs requested
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i)
    add_requested_name(info, sk_GENERAL_NAME_value(names.get(), i));
  return info;
}

ossl::PKey csr_public_key(X509_REQ* req) {
  if (req == nullptr) throw ossl::Error("CSR public key: no CSR");
  ossl::PKey key{X509_REQ_get_pubkey(req)};
  if (!key) ossl::fail("CSR: reading the public key");
  return key;
}

ossl::X509Ptr sign_csr(X509_REQ* req, const LeafSpec& spec, X509* issuer, EVP_PKEY* issuer_key) {
  if (req == nullptr) throw ossl::Error("signing a CSR: no CSR");
  // Checked again here: a CSR may reach us without going through read_csr.
  verify_self_signature(req, "signing a CSR");
  return sign_leaf(spec, X509_REQ_get0_pubkey(req), issuer, issuer_key);
}

}  // namespace distls::certs
