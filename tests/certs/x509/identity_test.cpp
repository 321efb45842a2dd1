#include "distls/x509/identity.hpp"

#include <gtest/gtest.h>

#include "tests/certs/cert_test_support.hpp"

namespace distls {
namespace {

using std::chrono::hours;
using test::error_of;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

Identity identity_for(const test::TestCa& ca, const std::string& host = "10.0.0.5") {
  Identity id;
  id.key = pem::generate_ec_p256();
  id.chain.push_back(test::make_leaf(ca, id.key.get(), host, hours(1)));
  id.trust.push_back(ossl::share(ca.cert.get()));
  return id;
}

TEST(Identity, MatchingKeyAndChainValidate) {
  test::TestCa ca = test::make_ca();
  EXPECT_NO_THROW(identity_for(ca).validate());
}

TEST(Identity, MismatchedKeyIsRejected) {
  test::TestCa ca = test::make_ca();
  Identity id = identity_for(ca);
  id.key = pem::generate_ec_p256();
  const std::string m = error_of([&] { id.validate(); });
  EXPECT_TRUE(contains(m, "does not match")) << m;
  EXPECT_TRUE(contains(m, "app@10.0.0.5")) << m;  // names the cert
}

TEST(Identity, LeafFromAnotherCaIsRejected) {
  test::TestCa ca = test::make_ca("CA one");
  test::TestCa other = test::make_ca("CA two");
  Identity id = identity_for(other);
  id.trust.clear();
  id.trust.push_back(ossl::share(ca.cert.get()));
  const std::string m = error_of([&] { id.validate(); });
  EXPECT_TRUE(contains(m, "unable to get local issuer certificate")) << m;
  // Adding the right CA to the bundle (a CA rotation in progress) makes it verify.
  id.trust.push_back(ossl::share(other.cert.get()));
  EXPECT_NO_THROW(id.validate());
}

TEST(Identity, EmptyChainOrTrustIsRejected) {
  test::TestCa ca = test::make_ca();
  Identity no_trust = identity_for(ca);
  no_trust.trust.clear();
  EXPECT_TRUE(contains(error_of([&] { no_trust.validate(); }), "trust"));
  Identity no_chain = identity_for(ca);
  no_chain.chain.clear();
  EXPECT_TRUE(contains(error_of([&] { no_chain.validate(); }), "chain"));
}

TEST(Identity, IntermediatesComeFromTheChain) {
  test::TestCa root = test::make_ca("root");
  test::TestCa inter = test::make_intermediate(root);
  Identity id = identity_for(inter);
  id.trust.clear();
  id.trust.push_back(ossl::share(root.cert.get()));
  // Without the intermediate in the chain, the leaf cannot reach the root.
  EXPECT_FALSE(error_of([&] { id.validate(); }).empty());
  id.chain.push_back(ossl::share(inter.cert.get()));
  EXPECT_NO_THROW(id.validate());
}

TEST(Identity, Accessors) {
  test::TestCa ca = test::make_ca();
  const auto now = std::chrono::system_clock::now();
  Identity id = identity_for(ca, "10.0.0.9");
  EXPECT_TRUE(contains(id.subject(), "CN=app@10.0.0.9")) << id.subject();
  EXPECT_TRUE(contains(id.subject(), "O=distls")) << id.subject();
  const auto nb = std::chrono::duration_cast<std::chrono::seconds>(id.not_before() - now).count();
  const auto na = std::chrono::duration_cast<std::chrono::seconds>(id.not_after() - now).count();
  EXPECT_NEAR(static_cast<double>(nb), -300, 5);
  EXPECT_NEAR(static_cast<double>(na), 3600, 5);

  ossl::BigNum bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(id.leaf()), nullptr)};
  char* hex = BN_bn2hex(bn.get());
  EXPECT_EQ(id.serial_hex(), std::string(hex));
  OPENSSL_free(hex);
  for (char c : id.serial_hex()) EXPECT_TRUE(std::isxdigit(c) && !std::islower(c)) << c;
}

TEST(Identity, LoadFiles) {
  test::TempDir dir;
  test::TestCa ca = test::make_ca();
  Identity id = identity_for(ca);
  pem::write_file_atomic(dir / "tls.crt", pem::cert_to_pem(id.leaf()), 0644);
  pem::write_file_atomic(dir / "tls.key", pem::private_key_to_pem(id.key.get()), 0600);
  pem::write_file_atomic(dir / "ca.crt", pem::cert_to_pem(ca.cert.get()), 0644);
  Identity loaded = Identity::load_files(dir / "tls.crt", dir / "tls.key", dir / "ca.crt");
  EXPECT_EQ(X509_cmp(loaded.leaf(), id.leaf()), 0);
  EXPECT_EQ(EVP_PKEY_eq(loaded.key.get(), id.key.get()), 1);
  ASSERT_EQ(loaded.trust.size(), 1U);

  const std::string missing = error_of(
      [&] { Identity::load_files(dir / "tls.crt", dir / "nope.key", dir / "ca.crt"); });
  EXPECT_TRUE(contains(missing, (dir / "nope.key").string())) << missing;

  // A key from elsewhere: the message says which files disagree.
  pem::write_file_atomic(dir / "other.key", pem::private_key_to_pem(ca.key.get()), 0600);
  const std::string wrong = error_of(
      [&] { Identity::load_files(dir / "tls.crt", dir / "other.key", dir / "ca.crt"); });
  EXPECT_TRUE(contains(wrong, (dir / "tls.crt").string())) << wrong;
  EXPECT_TRUE(contains(wrong, "does not match")) << wrong;
}

}  // namespace
}  // namespace distls
