#include "distls/tls/identity_manager.hpp"

#include <sstream>

#include <gtest/gtest.h>

#include "tests/proxy/tls_test_support.hpp"

namespace distls {
namespace {

class IdentityManagerTest : public ::testing::Test {
 protected:
  test::TestCa ca = test::make_ca("CA one");
  std::ostringstream out;
  Logger log{out, LogLevel::debug};
  Metrics metrics;
  TlsProvider provider{nullptr};
  IdentityManager manager{provider, TlsOptions{}, log, metrics};
  test::TempDir dir;

  void write_bundle(const std::string& name, std::initializer_list<const test::TestCa*> cas) {
    std::string pem;
    for (const auto* c : cas) pem += pem::cert_to_pem(c->cert.get());
    pem::write_file_atomic(dir / name, pem, 0644);
  }

  std::optional<std::string> install(const test::TestCa& issuer, const std::string& host = "10.0.0.5") {
    auto key = pem::generate_ec_p256();
    std::vector<ossl::X509Ptr> chain;
    chain.push_back(test::make_leaf(issuer, key.get(), host));
    return manager.install_leaf(std::move(key), std::move(chain), "test");
  }
};

TEST_F(IdentityManagerTest, InstallsAndReplacesLeaves) {
  write_bundle("bundle.pem", {&ca});
  ASSERT_FALSE(manager.load_trust(dir / "bundle.pem"));
  EXPECT_EQ(provider.current(), nullptr) << "a trust bundle alone is no identity";
  ASSERT_FALSE(install(ca));
  const auto first = provider.current();
  ASSERT_TRUE(first);
  ASSERT_FALSE(install(ca));
  EXPECT_NE(provider.current()->serial(), first->serial());
  EXPECT_NE(out.str().find("identity_installed origin=test serial=" + provider.current()->serial() +
                           " previous_serial=" + first->serial()),
            std::string::npos);
}

TEST_F(IdentityManagerTest, RefusesALeafThatDoesNotChainAndKeepsTheOldOne) {
  write_bundle("bundle.pem", {&ca});
  manager.load_trust(dir / "bundle.pem");
  ASSERT_FALSE(install(ca));
  const auto serial = provider.current()->serial();
  auto other = test::make_ca("CA two");
  auto err = install(other);
  ASSERT_TRUE(err);
  EXPECT_EQ(provider.current()->serial(), serial);
  EXPECT_NE(out.str().find("identity_refused origin=test"), std::string::npos);
  EXPECT_EQ(metrics.value("distls_identity_updates_total", {{"what", "test"}, {"result", "refused"}}), 1u);
}

TEST_F(IdentityManagerTest, RefusesAKeyThatDoesNotMatch) {
  write_bundle("bundle.pem", {&ca});
  manager.load_trust(dir / "bundle.pem");
  auto key = pem::generate_ec_p256();
  auto wrong = pem::generate_ec_p256();
  std::vector<ossl::X509Ptr> chain;
  chain.push_back(test::make_leaf(ca, key.get()));
  EXPECT_TRUE(manager.install_leaf(std::move(wrong), std::move(chain), "test"));
  EXPECT_EQ(provider.current(), nullptr);
}

TEST_F(IdentityManagerTest, TrustBundleRotationOldThenBothThenNew) {
  auto next = test::make_ca("CA two");
  write_bundle("bundle.pem", {&ca});
  manager.load_trust(dir / "bundle.pem");
  ASSERT_FALSE(install(ca));
  write_bundle("bundle.pem", {&ca, &next});
  ASSERT_FALSE(manager.load_trust(dir / "bundle.pem"));
  EXPECT_EQ(provider.current()->summary().trust.size(), 2u);
  ASSERT_FALSE(install(next));  // the issuer switched
  write_bundle("bundle.pem", {&next});
  ASSERT_FALSE(manager.load_trust(dir / "bundle.pem"));
  EXPECT_EQ(provider.current()->summary().trust.size(), 1u);
  EXPECT_NE(provider.current()->summary().issuer.find("CA two"), std::string::npos);
  // A bundle without the CA our own leaf comes from cannot apply yet: it waits (below).
  write_bundle("bundle.pem", {&ca});
  EXPECT_TRUE(manager.load_trust(dir / "bundle.pem"));
  EXPECT_TRUE(manager.trust_pending());
  EXPECT_NE(provider.current()->summary().trust.front().find("CA two"), std::string::npos);
  pem::write_file_atomic(dir / "bundle.pem", "not a certificate", 0644);
  EXPECT_TRUE(manager.load_trust(dir / "bundle.pem"));
}

TEST_F(IdentityManagerTest, FileSourceKeepsTheOldIdentityWhenNewFilesAreBrokenOrMismatched) {
  auto key = pem::generate_ec_p256();
  auto cert = test::make_leaf(ca, key.get());
  pem::write_file_atomic(dir / "tls.crt", pem::cert_to_pem(cert.get()), 0644);
  pem::write_file_atomic(dir / "tls.key", pem::private_key_to_pem(key.get()), 0600);
  write_bundle("ca.crt", {&ca});
  ASSERT_FALSE(manager.load_files(dir / "tls.crt", dir / "tls.key", dir / "ca.crt"));
  const auto serial = provider.current()->serial();

  // A new cert whose key has not been written yet.
  auto key2 = pem::generate_ec_p256();
  auto cert2 = test::make_leaf(ca, key2.get());
  pem::write_file_atomic(dir / "tls.crt", pem::cert_to_pem(cert2.get()), 0644);
  EXPECT_TRUE(manager.load_files(dir / "tls.crt", dir / "tls.key", dir / "ca.crt"));
  EXPECT_EQ(provider.current()->serial(), serial);
  // Truncated key file.
  pem::write_file_atomic(dir / "tls.key", "-----BEGIN PRIVATE KEY-----\nMIG", 0600);
  EXPECT_TRUE(manager.load_files(dir / "tls.crt", dir / "tls.key", dir / "ca.crt"));
  EXPECT_EQ(provider.current()->serial(), serial);
  // Both in place: installed.
  pem::write_file_atomic(dir / "tls.key", pem::private_key_to_pem(key2.get()), 0600);
  EXPECT_FALSE(manager.load_files(dir / "tls.crt", dir / "tls.key", dir / "ca.crt"));
  EXPECT_NE(provider.current()->serial(), serial);
}

// An emergency: the old CA's key leaked, the bundle now names only the new CA while this
// node's leaf is still the old CA's. The bundle is not refused and forgotten (the old CA
// would stay trusted until a restart): it waits, the source is asked for a new leaf at
// once, and the first leaf it covers brings it in.
TEST_F(IdentityManagerTest, AnEmergencyBundleWaitsForALeafItCoversThenApplies) {
  auto next = test::make_ca("CA two");
  std::vector<std::string> wanted;
  std::vector<std::size_t> trust_changes;
  manager.set_hooks({[&](const TlsContext& c) { trust_changes.push_back(c.summary().trust.size()); },
                     [&](const std::string& why) { wanted.push_back(why); }});
  write_bundle("bundle.pem", {&ca});
  manager.load_trust(dir / "bundle.pem");
  ASSERT_FALSE(install(ca));
  EXPECT_TRUE(trust_changes.empty()) << "the first identity changes no trust";

  write_bundle("bundle.pem", {&next});
  EXPECT_TRUE(manager.load_trust(dir / "bundle.pem"));
  EXPECT_TRUE(manager.trust_pending());
  EXPECT_EQ(wanted.size(), 1u);
  EXPECT_EQ(metrics.value("distls_trust_bundle_pending"), 1u);
  EXPECT_NE(out.str().find("warn trust_bundle_pending"), std::string::npos);
  EXPECT_NE(provider.current()->summary().trust.front().find("CA one"), std::string::npos) << "not applied yet";

  // A renewal that still comes from the old CA: installed with the trust in force.
  ASSERT_FALSE(install(ca));
  EXPECT_TRUE(manager.trust_pending());
  EXPECT_NE(provider.current()->summary().trust.front().find("CA one"), std::string::npos);
  EXPECT_TRUE(trust_changes.empty());

  // The file moved on meanwhile: what is read at the next leaf is what counts.
  auto third = test::make_ca("CA three");
  write_bundle("bundle.pem", {&next, &third});
  ASSERT_FALSE(install(next));
  EXPECT_FALSE(manager.trust_pending());
  EXPECT_EQ(metrics.value("distls_trust_bundle_pending"), 0u);
  ASSERT_EQ(provider.current()->summary().trust.size(), 2u);
  EXPECT_EQ(trust_changes, (std::vector<std::size_t>{2}));
  EXPECT_EQ(wanted.size(), 1u);
}

TEST_F(IdentityManagerTest, FileSourceBundleWrittenAheadOfTheCertificateWaitsForIt) {
  auto next = test::make_ca("CA two");
  std::vector<std::size_t> trust_changes;
  manager.set_hooks({[&](const TlsContext& c) { trust_changes.push_back(c.summary().trust.size()); }, nullptr});
  auto write_leaf = [&](const test::TestCa& issuer) {
    auto key = pem::generate_ec_p256();
    auto cert = test::make_leaf(issuer, key.get());
    pem::write_file_atomic(dir / "tls.crt", pem::cert_to_pem(cert.get()), 0644);
    pem::write_file_atomic(dir / "tls.key", pem::private_key_to_pem(key.get()), 0600);
  };
  write_leaf(ca);
  write_bundle("ca.crt", {&ca});
  ASSERT_FALSE(manager.load_files(dir / "tls.crt", dir / "tls.key", dir / "ca.crt"));
  const auto serial = provider.current()->serial();

  write_bundle("ca.crt", {&next});
  EXPECT_TRUE(manager.load_files(dir / "tls.crt", dir / "tls.key", dir / "ca.crt"));
  EXPECT_TRUE(manager.trust_pending());
  EXPECT_EQ(provider.current()->serial(), serial);
  EXPECT_TRUE(trust_changes.empty());

  write_leaf(next);
  ASSERT_FALSE(manager.load_files(dir / "tls.crt", dir / "tls.key", dir / "ca.crt"));
  EXPECT_FALSE(manager.trust_pending());
  EXPECT_NE(provider.current()->summary().trust.front().find("CA two"), std::string::npos);
  EXPECT_EQ(trust_changes, (std::vector<std::size_t>{1}));

  // A leaf from a CA nobody trusts is still refused outright.
  auto stranger = test::make_ca("CA four");
  write_leaf(stranger);
  EXPECT_TRUE(manager.load_files(dir / "tls.crt", dir / "tls.key", dir / "ca.crt"));
  EXPECT_FALSE(manager.trust_pending());
  EXPECT_NE(provider.current()->summary().issuer.find("CA two"), std::string::npos);
}

}  // namespace
}  // namespace distls
