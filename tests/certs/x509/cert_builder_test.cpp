#include "distls/x509/cert_builder.hpp"

#include <set>

#include <openssl/rsa.h>

#include <gtest/gtest.h>

#include "tests/certs/cert_test_support.hpp"

namespace distls::certs {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using test::error_of;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

bool critical(X509* x, int nid) {
  const int i = X509_get_ext_by_NID(x, nid, -1);
  return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i)) == 1;
}

bool has_ext(X509* x, int nid) { return X509_get_ext_by_NID(x, nid, -1) >= 0; }

int serial_bits(X509* x) {
  ossl::BigNum bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)};
  EXPECT_FALSE(BN_is_negative(bn.get()));
  return BN_num_bits(bn.get());
}

std::string serial_hex(X509* x) {
  ossl::BigNum bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)};
  char* hex = BN_bn2hex(bn.get());
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

class CertBuilder : public ::testing::Test {
 protected:
  test::TestCa ca = test::make_ca();
};

TEST_F(CertBuilder, CaIsSelfSignedWithCaExtensions) {
  const std::time_t now = std::time(nullptr);
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Ptr x = make_self_signed_ca(key.get(), "my CA", hours(10));
  EXPECT_EQ(X509_self_signed(x.get(), 1), 1);
  EXPECT_EQ(X509_check_ca(x.get()), 1);
  EXPECT_TRUE(critical(x.get(), NID_basic_constraints));
  EXPECT_TRUE(critical(x.get(), NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(x.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(x.get()), nullptr);
  EXPECT_EQ(test::name_entry(X509_get_subject_name(x.get()), NID_commonName), "my CA");
  EXPECT_EQ(X509_get_signature_nid(x.get()), NID_ecdsa_with_SHA256);
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notAfter(x.get()))),
              static_cast<double>(now + 36000), 5);
  EXPECT_LE(serial_bits(x.get()), 127);
}

TEST_F(CertBuilder, LeafCarriesSansFromSpec) {
  ossl::PKey key = pem::generate_ec_p256();
  LeafSpec spec;
  spec.common_name = "app@10.0.0.5";
  spec.sans.ips = {"10.0.0.5", "fd00::1"};
  spec.sans.dns = {"app.example"};
  spec.sans.uris = {"spiffe://td/ns/default/sa/app"};
  ossl::X509Ptr x = sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get());
  EXPECT_EQ(test::sans_of(x.get(), GEN_IPADD), (std::vector<std::string>{"10.0.0.5", "fd00::1"}));
  EXPECT_EQ(test::sans_of(x.get(), GEN_DNS), (std::vector<std::string>{"app.example"}));
  EXPECT_EQ(test::sans_of(x.get(), GEN_URI),
            (std::vector<std::string>{"spiffe://td/ns/default/sa/app"}));
  EXPECT_FALSE(critical(x.get(), NID_subject_alt_name));
  // What a peer verifier will actually do with it.
  EXPECT_EQ(X509_check_ip_asc(x.get(), "10.0.0.5", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "10.0.0.6", 0), 0);
  EXPECT_EQ(X509_check_host(x.get(), "app.example", 0, 0, nullptr), 1);
}

TEST_F(CertBuilder, LeafUsagesAndConstraints) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Ptr x = test::make_leaf(ca, key.get());
  EXPECT_TRUE(has_ext(x.get(), NID_basic_constraints));
  EXPECT_TRUE(critical(x.get(), NID_basic_constraints));
  EXPECT_EQ(X509_check_ca(x.get()), 0);
  EXPECT_TRUE(critical(x.get(), NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(x.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(x.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(X509_check_purpose(x.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(x.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
}

TEST_F(CertBuilder, RsaLeafAlsoGetsKeyEncipherment) {
  ossl::PKey rsa{EVP_RSA_gen(2048)};
  ASSERT_TRUE(rsa);
  ossl::X509Ptr x = test::make_leaf(ca, rsa.get());
  EXPECT_EQ(X509_get_key_usage(x.get()),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
}

TEST_F(CertBuilder, LeafNamesKeyIdsAndSignature) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Ptr x = test::make_leaf(ca, key.get(), "10.0.0.7");
  EXPECT_EQ(test::name_entry(X509_get_subject_name(x.get()), NID_commonName), "app@10.0.0.7");
  EXPECT_EQ(test::name_entry(X509_get_subject_name(x.get()), NID_organizationName), "distls");
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(x.get()), X509_get_subject_name(ca.cert.get())), 0);
  ASSERT_NE(X509_get0_subject_key_id(x.get()), nullptr);
  ASSERT_NE(X509_get0_authority_key_id(x.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x.get()),
                                  X509_get0_subject_key_id(ca.cert.get())),
            0);
  EXPECT_EQ(X509_get_signature_nid(x.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_verify(x.get(), ca.key.get()), 1);
  EXPECT_EQ(X509_check_issued(ca.cert.get(), x.get()), X509_V_OK);
  EXPECT_EQ(X509_get_version(x.get()), X509_VERSION_3);
}

TEST_F(CertBuilder, SerialsArePositiveRandom128Bit) {
  ossl::PKey key = pem::generate_ec_p256();
  std::set<std::string> seen;
  int widest = 0;
  for (int i = 0; i < 16; ++i) {
    ossl::X509Ptr x = test::make_leaf(ca, key.get());
    const int bits = serial_bits(x.get());
    EXPECT_GE(bits, 1);
    EXPECT_LE(bits, 127);  // top bit cleared: fits 16 DER octets with no sign byte
    widest = std::max(widest, bits);
    seen.insert(serial_hex(x.get()));
  }
  EXPECT_EQ(seen.size(), 16U);
  // 16 draws all under 120 bits happens with probability 2^-112.
  EXPECT_GE(widest, 120);
}

TEST_F(CertBuilder, NotBeforeIsBackdated) {
  ossl::PKey key = pem::generate_ec_p256();
  LeafSpec spec;
  spec.common_name = "app@h";
  spec.sans.dns = {"h"};
  spec.ttl = hours(2);
  const std::time_t now = std::time(nullptr);
  ossl::X509Ptr def = sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get());
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notBefore(def.get()))),
              static_cast<double>(now - 300), 5);
  spec.backdate = seconds(1800);
  ossl::X509Ptr x = sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get());
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notBefore(x.get()))),
              static_cast<double>(now - 1800), 5);
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notAfter(x.get()))),
              static_cast<double>(now + 7200), 5);
}

TEST_F(CertBuilder, NotAfterIsCappedAtTheIssuers) {
  test::TestCa short_ca = test::make_ca("short CA", hours(2));
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Ptr x = test::make_leaf(short_ca, key.get(), "10.0.0.5", hours(48));
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(x.get()), X509_get0_notAfter(short_ca.cert.get())),
            0);
  // And not capped when the issuer outlives it.
  ossl::X509Ptr y = test::make_leaf(short_ca, key.get(), "10.0.0.5", hours(1));
  EXPECT_LT(ASN1_TIME_compare(X509_get0_notAfter(y.get()), X509_get0_notAfter(short_ca.cert.get())),
            0);
}

TEST_F(CertBuilder, RefusesWrongCaKey) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::PKey other = pem::generate_ec_p256();
  LeafSpec spec;
  spec.common_name = "app@h";
  const std::string m = error_of([&] { sign_leaf(spec, key.get(), ca.cert.get(), other.get()); });
  EXPECT_TRUE(contains(m, "CA key")) << m;
}

TEST_F(CertBuilder, RefusesExpiredCa) {
  ASSERT_NE(X509_time_adj_ex(X509_getm_notAfter(ca.cert.get()), -1, 0, nullptr), nullptr);
  ASSERT_GT(X509_sign(ca.cert.get(), ca.key.get(), EVP_sha256()), 0);
  ossl::PKey key = pem::generate_ec_p256();
  const std::string m = error_of([&] { test::make_leaf(ca, key.get()); });
  EXPECT_TRUE(contains(m, "expired")) << m;
}

TEST_F(CertBuilder, RejectsBadSansAndLifetimes) {
  ossl::PKey key = pem::generate_ec_p256();
  LeafSpec spec;
  spec.common_name = "app@h";
  spec.sans.ips = {"10.0.0.300"};
  const std::string m = error_of([&] { sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get()); });
  EXPECT_TRUE(contains(m, "10.0.0.300")) << m;
  spec.sans.ips.clear();
  spec.sans.dns = {"bad host"};
  EXPECT_TRUE(contains(error_of([&] { sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get()); }),
                       "bad host"));
  spec.sans.dns = {"h"};
  spec.ttl = seconds(0);
  EXPECT_FALSE(error_of([&] { sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get()); }).empty());
  EXPECT_FALSE(error_of([&] { make_self_signed_ca(key.get(), "CA", seconds(-1)); }).empty());
}

TEST_F(CertBuilder, LongNodeNameStillIssues) {
  ossl::PKey key = pem::generate_ec_p256();
  LeafSpec spec;
  spec.common_name = "app@" + std::string(80, 'a') + ".example";
  spec.sans.dns = {std::string(80, 'a') + ".example"};
  ossl::X509Ptr x = sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get());
  EXPECT_EQ(test::name_entry(X509_get_subject_name(x.get()), NID_commonName),
            spec.common_name.substr(0, 64));
}

TEST(SansForHost, IpLiteralsBecomeIpSans) {
  EXPECT_EQ(sans_for_host("10.0.0.5").ips, std::vector<std::string>{"10.0.0.5"});
  EXPECT_TRUE(sans_for_host("10.0.0.5").dns.empty());
  EXPECT_EQ(sans_for_host("fd00::1").ips, std::vector<std::string>{"fd00::1"});
  EXPECT_EQ(sans_for_host("[fd00::1]").ips, std::vector<std::string>{"fd00::1"});
  EXPECT_TRUE(sans_for_host("[fd00::1]").dns.empty());
}

TEST(SansForHost, NamesBecomeDnsSans) {
  const Sans s = sans_for_host("app-0.app.default.svc.cluster.local");
  EXPECT_EQ(s.dns, std::vector<std::string>{"app-0.app.default.svc.cluster.local"});
  EXPECT_TRUE(s.ips.empty());
  EXPECT_EQ(sans_for_host("localhost").dns, std::vector<std::string>{"localhost"});
  EXPECT_EQ(sans_for_host("1.2.3").dns, std::vector<std::string>{"1.2.3"});
  EXPECT_TRUE(sans_for_host("x").uris.empty());
}

}  // namespace
}  // namespace distls::certs
