#include "distls/x509/csr.hpp"

#include <algorithm>
#include <ctime>
#include <string>
#include <vector>

#include <openssl/pem.h>

#include <gtest/gtest.h>

#include "distls/x509/identity.hpp"
#include "tests/certs/cert_test_support.hpp"

namespace distls::certs {
namespace {

using std::chrono::hours;
using test::error_of;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::vector<unsigned char> der_of(X509_REQ* req) {
  unsigned char* buf = nullptr;
  const int n = i2d_X509_REQ(req, &buf);
  EXPECT_GT(n, 0);
  std::vector<unsigned char> out(buf, buf + std::max(n, 0));
  OPENSSL_free(buf);
  return out;
}

std::string pem_of(const char* name, const std::vector<unsigned char>& der) {
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  PEM_write_bio(bio.get(), name, "", der.data(), static_cast<long>(der.size()));
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

// Decodes without the signature check read_csr adds, to show that a refusal comes from it.
ossl::X509Req decode(const std::vector<unsigned char>& der) {
  const unsigned char* p = der.data();
  return ossl::X509Req{d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()))};
}

Sans all_kinds() {
  Sans s;
  s.ips = {"10.0.0.5", "FD00:0:0:0:0:0:0:1"};
  s.dns = {"App-0.Example"};
  s.uris = {"spiffe://td/ns/x/sa/y"};
  return s;
}

ossl::X509Ext ia5_san_ext(const std::vector<std::pair<int, std::string>>& entries) {
  ossl::GeneralNames names{sk_GENERAL_NAME_new_null()};
  for (const auto& [type, value] : entries) {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
    GENERAL_NAME* gen = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(gen, type, s);
    sk_GENERAL_NAME_push(names.get(), gen);
  }
  return ossl::X509Ext{X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get())};
}

ossl::X509Ext conf_ext(int nid, const char* value) {
  ossl::X509Ext ext{X509V3_EXT_nconf_nid(nullptr, nullptr, nid, value)};
  EXPECT_TRUE(ext) << value;
  return ext;
}

// A CSR as some other tool might build it: whatever extensions it likes, the first group
// in an extensionRequest, a second one in Microsoft's msExtReq (OpenSSL reads either).
ossl::X509Req foreign_csr(EVP_PKEY* key, const std::vector<std::vector<X509_EXTENSION*>>& groups) {
  ossl::X509Req req{X509_REQ_new()};
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("foreign"), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key);
  int nid = NID_ext_req;
  for (const auto& group : groups) {
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    for (X509_EXTENSION* e : group) sk_X509_EXTENSION_push(exts, e);
    EXPECT_EQ(X509_REQ_add_extensions_nid(req.get(), exts, nid), 1);
    sk_X509_EXTENSION_free(exts);  // borrowed extensions
    nid = NID_ms_ext_req;
  }
  EXPECT_GT(X509_REQ_sign(req.get(), key, EVP_sha256()), 0);
  return req;
}

template <class T>
T* requested(X509_REQ* req, int nid, int* crit) {
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  void* v = X509V3_get_d2i(exts, nid, crit, nullptr);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return static_cast<T*>(v);
}

TEST(Csr, RoundTripsThroughPem) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Req req = make_csr(key.get(), "app@10.0.0.5", sans_for_host("10.0.0.5"));
  const std::string text = csr_to_pem(req.get());
  EXPECT_EQ(text.rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0), 0U) << text;
  ossl::X509Req back = read_csr(text, "req.pem");
  EXPECT_EQ(der_of(back.get()), der_of(req.get()));
  EXPECT_EQ(X509_REQ_verify(back.get(), key.get()), 1);
  EXPECT_EQ(X509_REQ_get_signature_nid(back.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(test::name_entry(X509_REQ_get_subject_name(back.get()), NID_commonName),
            "app@10.0.0.5");
  EXPECT_EQ(test::name_entry(X509_REQ_get_subject_name(back.get()), NID_organizationName),
            "distls");
}

TEST(Csr, InspectReturnsRequestedNames) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Req req = read_csr(csr_to_pem(make_csr(key.get(), "app@10.0.0.5", all_kinds()).get()));
  const CsrInfo info = inspect_csr(req.get());
  EXPECT_EQ(info.common_name, "app@10.0.0.5");
  EXPECT_EQ(info.sans.ips, (std::vector<std::string>{"10.0.0.5", "fd00::1"}));
  EXPECT_EQ(info.sans.dns, std::vector<std::string>{"app-0.example"});
  EXPECT_EQ(info.sans.uris, std::vector<std::string>{"spiffe://td/ns/x/sa/y"});
  EXPECT_TRUE(info.other_sans.empty());
}

TEST(Csr, RequestsTheLeafUsages) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Req req = make_csr(key.get(), "app@h", sans_for_host("h"));
  int crit = -1;
  ASN1_BIT_STRING* ku = requested<ASN1_BIT_STRING>(req.get(), NID_key_usage, &crit);
  ASSERT_NE(ku, nullptr);
  EXPECT_EQ(crit, 1);
  EXPECT_EQ(ASN1_BIT_STRING_get_bit(ku, 0), 1);  // digitalSignature
  EXPECT_EQ(ASN1_BIT_STRING_get_bit(ku, 5), 0);  // keyCertSign
  ASN1_BIT_STRING_free(ku);

  EXTENDED_KEY_USAGE* eku = requested<EXTENDED_KEY_USAGE>(req.get(), NID_ext_key_usage, &crit);
  ASSERT_NE(eku, nullptr);
  std::vector<int> nids;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i)
    nids.push_back(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)));
  EXTENDED_KEY_USAGE_free(eku);
  EXPECT_EQ(nids, (std::vector<int>{NID_server_auth, NID_client_auth}));
}

TEST(Csr, InspectSetsAsideOtherNameTypes) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Ext sans = ia5_san_ext({{GEN_DNS, "good.example"},
                                    {GEN_EMAIL, "x@y.example"},
                                    {GEN_DNS, std::string("bad\x1b[0m\0x", 9)},
                                    {GEN_URI, "spiffe://td/ns/x/sa/y"}});
  ossl::X509Req req = foreign_csr(key.get(), {{sans.get()}});
  const CsrInfo info = inspect_csr(req.get());
  EXPECT_EQ(info.common_name, "foreign");
  EXPECT_EQ(info.sans.dns, std::vector<std::string>{"good.example"});
  EXPECT_EQ(info.sans.uris, std::vector<std::string>{"spiffe://td/ns/x/sa/y"});
  EXPECT_EQ(info.other_sans,
            (std::vector<std::string>{"email:x@y.example", "DNS:bad\\x1b[0m\\x00x"}));
}

TEST(Csr, InspectRefusesAmbiguousRequests) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Ext a = ia5_san_ext({{GEN_DNS, "a.example"}});
  ossl::X509Ext b = ia5_san_ext({{GEN_DNS, "b.example"}});
  ossl::X509Req two_sans = foreign_csr(key.get(), {{a.get(), b.get()}});
  EXPECT_TRUE(contains(error_of([&] { inspect_csr(two_sans.get()); }), "subjectAltName"));
  ossl::X509Req two_requests = foreign_csr(key.get(), {{a.get()}, {b.get()}});
  EXPECT_TRUE(contains(error_of([&] { inspect_csr(two_requests.get()); }), "extensionRequest"));
  ossl::X509Req one = foreign_csr(key.get(), {{a.get()}});
  EXPECT_EQ(inspect_csr(one.get()).sans.dns, std::vector<std::string>{"a.example"});
}

TEST(Csr, RefusesTamperedSignature) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Req req = make_csr(key.get(), "app@10.0.0.5", sans_for_host("10.0.0.5"));
  std::vector<unsigned char> der = der_of(req.get());
  der.back() ^= 0x01;  // last octet of the ECDSA s value: still well-formed DER
  ASSERT_TRUE(decode(der));
  const std::string m = error_of([&] { read_csr(pem_of("CERTIFICATE REQUEST", der), "req.pem"); });
  EXPECT_TRUE(contains(m, "req.pem")) << m;
  EXPECT_TRUE(contains(m, "signature")) << m;
}

TEST(Csr, RefusesTamperedSubject) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Req req = make_csr(key.get(), "node-x@host", sans_for_host("host"));
  std::vector<unsigned char> der = der_of(req.get());
  const std::string cn = "node-x";
  auto at = std::search(der.begin(), der.end(), cn.begin(), cn.end());
  ASSERT_NE(at, der.end());
  at[5] = 'y';
  ossl::X509Req altered = decode(der);
  ASSERT_TRUE(altered);
  EXPECT_EQ(inspect_csr(altered.get()).common_name, "node-y@host");
  const std::string m = error_of([&] { read_csr(pem_of("CERTIFICATE REQUEST", der)); });
  EXPECT_TRUE(contains(m, "signature")) << m;
}

TEST(Csr, RefusesAnythingButOneRequestBlock) {
  ossl::PKey key = pem::generate_ec_p256();
  const std::string one = csr_to_pem(make_csr(key.get(), "app@h", sans_for_host("h")).get());
  ASSERT_NO_THROW(read_csr(one));

  EXPECT_TRUE(contains(error_of([&] { read_csr("not a CSR at all\n", "req.pem"); }),
                       "req.pem: no CERTIFICATE REQUEST"));
  EXPECT_TRUE(contains(error_of([&] { read_csr(one + one); }), "more than one"));
  EXPECT_TRUE(contains(error_of([&] { read_csr(one + pem::private_key_to_pem(key.get())); }),
                       "unexpected PRIVATE KEY"));
  test::TestCa ca = test::make_ca();
  EXPECT_TRUE(contains(error_of([&] { read_csr(pem::cert_to_pem(ca.cert.get())); }),
                       "unexpected CERTIFICATE"));

  std::vector<unsigned char> der = der_of(read_csr(one).get());
  der.push_back(0x00);
  EXPECT_TRUE(contains(error_of([&] { read_csr(pem_of("CERTIFICATE REQUEST", der)); }),
                       "trailing data"));
  std::string broken = one;
  broken[broken.find('\n') + 10] = '*';  // not base64
  EXPECT_FALSE(error_of([&] { read_csr(broken); }).empty());
}

TEST(Csr, PublicKeyIsTheRequesters) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::PKey other = pem::generate_ec_p256();
  ossl::X509Req req = read_csr(csr_to_pem(make_csr(key.get(), "app@h", sans_for_host("h")).get()));
  ossl::PKey pub = csr_public_key(req.get());
  EXPECT_EQ(EVP_PKEY_eq(pub.get(), key.get()), 1);
  EXPECT_NE(EVP_PKEY_eq(pub.get(), other.get()), 1);
}

TEST(Csr, RejectsBadInputToMake) {
  ossl::PKey key = pem::generate_ec_p256();
  Sans bad;
  bad.ips = {"10.0.0.300"};
  EXPECT_TRUE(contains(error_of([&] { make_csr(key.get(), "app@h", bad); }), "10.0.0.300"));
  bad.ips.clear();
  bad.dns = {"bad host"};
  EXPECT_TRUE(contains(error_of([&] { make_csr(key.get(), "app@h", bad); }), "bad host"));
  EXPECT_FALSE(error_of([&] { make_csr(key.get(), "", sans_for_host("h")); }).empty());
  EXPECT_FALSE(error_of([&] { make_csr(nullptr, "app@h", sans_for_host("h")); }).empty());
}

class CsrSign : public ::testing::Test {
 protected:
  test::TestCa ca = test::make_ca();
  ossl::PKey key = pem::generate_ec_p256();

  LeafSpec granted() const {
    LeafSpec spec;
    spec.common_name = "granted@10.0.0.5";
    spec.sans.ips = {"10.0.0.5"};
    spec.ttl = hours(2);
    return spec;
  }
};

TEST_F(CsrSign, LeafHasTheCsrKeyAndOnlyTheGrantedNames) {
  ossl::X509Req req =
      read_csr(csr_to_pem(make_csr(key.get(), "asked@10.0.0.5", all_kinds()).get()));
  ossl::X509Ptr leaf = sign_csr(req.get(), granted(), ca.cert.get(), ca.key.get());
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(leaf.get()), key.get()), 1);
  EXPECT_EQ(test::sans_of(leaf.get(), GEN_IPADD), std::vector<std::string>{"10.0.0.5"});
  EXPECT_TRUE(test::sans_of(leaf.get(), GEN_DNS).empty());
  EXPECT_TRUE(test::sans_of(leaf.get(), GEN_URI).empty());
  EXPECT_EQ(test::name_entry(X509_get_subject_name(leaf.get()), NID_commonName),
            "granted@10.0.0.5");
}

TEST_F(CsrSign, CsrExtensionsAreNotCopied) {
  ossl::X509Ext sans = ia5_san_ext({{GEN_DNS, "evil.example"}, {GEN_EMAIL, "x@y.example"}});
  ossl::X509Ext ca_true = conf_ext(NID_basic_constraints, "critical,CA:TRUE");
  ossl::X509Ext ku = conf_ext(NID_key_usage, "critical,keyCertSign,digitalSignature");
  ossl::X509Ext eku = conf_ext(NID_ext_key_usage, "codeSigning");
  ossl::X509Req req = foreign_csr(key.get(), {{sans.get(), ca_true.get(), ku.get(), eku.get()}});
  ossl::X509Ptr leaf = sign_csr(req.get(), granted(), ca.cert.get(), ca.key.get());
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_EQ(X509_get_key_usage(leaf.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(leaf.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(sk_GENERAL_NAME_num(names), 1);  // just the granted IP: no DNS, no email
  GENERAL_NAMES_free(names);
  EXPECT_EQ(X509_get_ext_count(leaf.get()), 6);  // BC, KU, EKU, SAN, SKI, AKI
}

TEST_F(CsrSign, LeafIsAUsableNodeCertFromTheCa) {
  ossl::X509Req req = make_csr(key.get(), "app@10.0.0.5", sans_for_host("10.0.0.5"));
  const std::time_t now = std::time(nullptr);
  ossl::X509Ptr leaf = sign_csr(req.get(), granted(), ca.cert.get(), ca.key.get());
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(X509_check_purpose(leaf.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(leaf.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  const int bc = X509_get_ext_by_NID(leaf.get(), NID_basic_constraints, -1);
  ASSERT_GE(bc, 0);  // CA:FALSE stated, not merely absent
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notBefore(leaf.get()))),
              static_cast<double>(now - 300), 5);
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notAfter(leaf.get()))),
              static_cast<double>(now + 7200), 5);
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(leaf.get()), X509_get_subject_name(ca.cert.get())),
            0);
  EXPECT_EQ(X509_verify(leaf.get(), ca.key.get()), 1);

  Identity id;
  id.key = ossl::share(key.get());
  id.chain.push_back(std::move(leaf));
  id.trust.push_back(ossl::share(ca.cert.get()));
  EXPECT_NO_THROW(id.validate());
}

TEST_F(CsrSign, RefusesACsrWhoseSignatureDoesNotVerify) {
  ossl::X509Req req = make_csr(key.get(), "app@10.0.0.5", sans_for_host("10.0.0.5"));
  std::vector<unsigned char> der = der_of(req.get());
  der.back() ^= 0x01;
  ossl::X509Req forged = decode(der);
  ASSERT_TRUE(forged);
  const std::string m =
      error_of([&] { sign_csr(forged.get(), granted(), ca.cert.get(), ca.key.get()); });
  EXPECT_TRUE(contains(m, "signature")) << m;
}

}  // namespace
}  // namespace distls::certs
