#include "distls/x509/local_ca.hpp"

#include <ctime>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "distls/x509/identity.hpp"
#include "tests/certs/cert_test_support.hpp"

namespace distls::certs {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using test::error_of;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string serial_of(X509* x) {
  ossl::BigNum bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)};
  char* hex = BN_bn2hex(bn.get());
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

// Re-signs a modified CA cert with its own key, as a real (if odd) CA file would be.
void resign(test::TestCa& ca) {
  ASSERT_GT(X509_sign(ca.cert.get(), ca.key.get(), EVP_sha256()), 0);
}

class LocalCaTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  fs::path cert_path = dir / "ca.crt";
  fs::path key_path = dir / "ca.key";
  test::TestCa ca = test::make_ca("CA one");

  void SetUp() override { install(ca); }

  void install(const test::TestCa& c, const std::string& extra_certs = "") {
    pem::write_file_atomic(cert_path, pem::cert_to_pem(c.cert.get()) + extra_certs, 0644);
    pem::write_file_atomic(key_path, pem::private_key_to_pem(c.key.get()), 0600);
  }

  LocalCa::Options options(std::chrono::seconds ttl = hours(1)) const {
    LocalCa::Options o;
    o.ca_cert = cert_path;
    o.ca_key = key_path;
    o.ttl = ttl;
    o.common_name = "app@10.0.0.5";
    o.sans.ips = {"10.0.0.5"};
    o.sans.uris = {"spiffe://td/ns/x/sa/y"};
    return o;
  }

  static void expect_chains_to(const Leaf& leaf, X509* root) {
    Identity id;
    id.key = ossl::share(leaf.key.get());
    for (const ossl::X509Ptr& c : leaf.chain) id.chain.push_back(ossl::share(c.get()));
    id.trust.push_back(ossl::share(root));
    EXPECT_NO_THROW(id.validate());
  }
};

TEST_F(LocalCaTest, EachIssueHasAFreshKeyAndSerial) {
  const LocalCa local(options());
  const Leaf a = local.issue();
  const Leaf b = local.issue();
  ASSERT_EQ(a.chain.size(), 1U);
  ASSERT_EQ(b.chain.size(), 1U);
  EXPECT_NE(EVP_PKEY_eq(a.key.get(), b.key.get()), 1);
  EXPECT_NE(serial_of(a.chain[0].get()), serial_of(b.chain[0].get()));
  EXPECT_EQ(EVP_PKEY_get_base_id(a.key.get()), EVP_PKEY_EC);
  EXPECT_EQ(X509_check_private_key(a.chain[0].get(), a.key.get()), 1);
}

TEST_F(LocalCaTest, LeafChainsToTheCaWithTheConfiguredNames) {
  const Leaf leaf = LocalCa(options()).issue();
  ASSERT_EQ(leaf.chain.size(), 1U);
  X509* x = leaf.chain[0].get();
  EXPECT_EQ(X509_check_issued(ca.cert.get(), x), X509_V_OK);
  EXPECT_EQ(test::sans_of(x, GEN_IPADD), std::vector<std::string>{"10.0.0.5"});
  EXPECT_EQ(test::sans_of(x, GEN_URI), std::vector<std::string>{"spiffe://td/ns/x/sa/y"});
  EXPECT_EQ(test::name_entry(X509_get_subject_name(x), NID_commonName), "app@10.0.0.5");
  EXPECT_EQ(X509_get_extended_key_usage(x), static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  expect_chains_to(leaf, ca.cert.get());
}

TEST_F(LocalCaTest, IntermediatesTravelWithTheLeaf) {
  test::TestCa root = test::make_ca("root");
  test::TestCa inter = test::make_intermediate(root);
  install(inter, pem::cert_to_pem(root.cert.get()));
  const Leaf leaf = LocalCa(options()).issue();
  ASSERT_EQ(leaf.chain.size(), 2U);  // the self-signed root stays behind
  EXPECT_EQ(X509_cmp(leaf.chain[1].get(), inter.cert.get()), 0);
  EXPECT_EQ(X509_check_issued(inter.cert.get(), leaf.chain[0].get()), X509_V_OK);
  expect_chains_to(leaf, root.cert.get());
}

TEST_F(LocalCaTest, TtlIsHonoured) {
  const std::time_t now = std::time(nullptr);
  const Leaf leaf = LocalCa(options(hours(2))).issue();
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notAfter(leaf.chain[0].get()))),
              static_cast<double>(now + 7200), 5);
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notBefore(leaf.chain[0].get()))),
              static_cast<double>(now - 300), 5);
}

TEST_F(LocalCaTest, NotAfterIsCappedAtTheCas) {
  test::TestCa short_ca = test::make_ca("short CA", hours(1));
  install(short_ca);
  const Leaf leaf = LocalCa(options(hours(10))).issue();
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(leaf.chain[0].get()),
                              X509_get0_notAfter(short_ca.cert.get())),
            0);
}

TEST_F(LocalCaTest, ReplacedCaFilesTakeEffectAtTheNextIssue) {
  const LocalCa local(options());
  const Leaf before = local.issue();
  test::TestCa next = test::make_ca("CA two");
  install(next);
  const Leaf after = local.issue();
  EXPECT_EQ(X509_verify(before.chain[0].get(), ca.key.get()), 1);
  EXPECT_EQ(X509_verify(after.chain[0].get(), next.key.get()), 1);
  EXPECT_NE(X509_verify(after.chain[0].get(), ca.key.get()), 1);
  EXPECT_EQ(test::name_entry(X509_get_issuer_name(after.chain[0].get()), NID_commonName), "CA two");
  expect_chains_to(after, next.cert.get());
}

TEST_F(LocalCaTest, RefusesAKeyThatDoesNotMatchTheCaCert) {
  test::TestCa other = test::make_ca("other");
  pem::write_file_atomic(key_path, pem::private_key_to_pem(other.key.get()), 0600);
  const std::string m = error_of([&] { LocalCa(options()).issue(); });
  EXPECT_TRUE(contains(m, key_path.string())) << m;
  EXPECT_TRUE(contains(m, "does not match")) << m;
}

TEST_F(LocalCaTest, RefusesANonCaCert) {
  ossl::PKey key = pem::generate_ec_p256();
  ossl::X509Ptr leaf = test::make_leaf(ca, key.get());
  pem::write_file_atomic(cert_path, pem::cert_to_pem(leaf.get()), 0644);
  pem::write_file_atomic(key_path, pem::private_key_to_pem(key.get()), 0600);
  const std::string m = error_of([&] { LocalCa(options()).issue(); });
  EXPECT_TRUE(contains(m, cert_path.string())) << m;
  EXPECT_TRUE(contains(m, "not a CA")) << m;
}

TEST_F(LocalCaTest, RefusesACaWithoutKeyCertSign) {
  X509_EXTENSION* old =
      X509_delete_ext(ca.cert.get(), X509_get_ext_by_NID(ca.cert.get(), NID_key_usage, -1));
  X509_EXTENSION_free(old);
  ossl::X509Ext ku{
      X509V3_EXT_nconf_nid(nullptr, nullptr, NID_key_usage, "critical,digitalSignature")};
  ASSERT_EQ(X509_add_ext(ca.cert.get(), ku.get(), -1), 1);
  resign(ca);
  install(ca);
  const std::string m = error_of([&] { LocalCa(options()).issue(); });
  EXPECT_TRUE(contains(m, "keyCertSign")) << m;
}

TEST_F(LocalCaTest, RefusesAnExpiredCa) {
  ASSERT_NE(X509_time_adj_ex(X509_getm_notAfter(ca.cert.get()), -1, 0, nullptr), nullptr);
  resign(ca);
  install(ca);
  const std::string m = error_of([&] { LocalCa(options()).issue(); });
  EXPECT_TRUE(contains(m, "expired")) << m;
  EXPECT_TRUE(contains(m, cert_path.string())) << m;
}

TEST_F(LocalCaTest, MissingFilesAreNamed) {
  LocalCa::Options o = options();
  o.ca_key = dir / "nope.key";
  std::string m = error_of([&] { LocalCa(o).issue(); });
  EXPECT_TRUE(contains(m, o.ca_key.string())) << m;
  o = options();
  o.ca_cert = dir / "nope.crt";
  m = error_of([&] { LocalCa(o).issue(); });
  EXPECT_TRUE(contains(m, o.ca_cert.string())) << m;
}

TEST_F(LocalCaTest, LeavesTheCaKeyAndItsDirectoryAlone) {
  const std::string key_bytes = pem::read_file(key_path);
  const auto key_mtime = fs::last_write_time(key_path);
  const unsigned key_mode = test::mode_of(key_path);
  auto listing = [&] {
    std::map<std::string, std::uintmax_t> files;
    for (const auto& e : fs::directory_iterator(dir.path()))
      files[e.path().filename().string()] = e.file_size();
    return files;
  };
  const auto before = listing();
  const LocalCa local(options());
  local.issue();
  local.issue();
  EXPECT_EQ(pem::read_file(key_path), key_bytes);
  EXPECT_EQ(fs::last_write_time(key_path), key_mtime);
  EXPECT_EQ(test::mode_of(key_path), key_mode);
  EXPECT_EQ(listing(), before);
}

TEST_F(LocalCaTest, RefusesBadOptionsUpFront) {
  LocalCa::Options o = options();
  o.sans = {};
  o.sans.uris = {"spiffe://td/ns/x/sa/y"};
  EXPECT_TRUE(contains(error_of([&] { (void)LocalCa{o}; }), "IP or DNS"));
  o = options();
  o.sans.ips = {"10.0.0.300"};
  EXPECT_TRUE(contains(error_of([&] { (void)LocalCa{o}; }), "10.0.0.300"));
  o = options();
  o.ttl = std::chrono::seconds(0);
  EXPECT_FALSE(error_of([&] { (void)LocalCa{o}; }).empty());
  o = options();
  o.ca_key.clear();
  EXPECT_FALSE(error_of([&] { (void)LocalCa{o}; }).empty());
  o = options();
  o.common_name.clear();
  EXPECT_FALSE(error_of([&] { (void)LocalCa{o}; }).empty());
}

}  // namespace
}  // namespace distls::certs
