#include "distls/cli/ca_command.hpp"

#include <sstream>

#include <gtest/gtest.h>

#include "distls/x509/identity.hpp"
#include "tests/certs/cert_test_support.hpp"

namespace distls {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

struct Outcome {
  int rc;
  std::string out;
  std::string err;
};

Outcome run(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  const int rc = run_ca_command(args, out, err);
  return {rc, out.str(), err.str()};
}

// Exactly one newline-terminated line.
bool one_line(const std::string& s) {
  return !s.empty() && s.back() == '\n' && s.find('\n') == s.size() - 1;
}

std::vector<ossl::X509Ptr> certs_in(const fs::path& p) {
  return pem::read_certs(pem::read_file(p), p.string());
}

class CaCommand : public ::testing::Test {
 protected:
  test::TempDir tmp;
  fs::path ca_dir = tmp / "ca";
  fs::path node_dir = tmp / "node";

  void init_ca() {
    const Outcome r = run({"init", "--out", ca_dir.string()});
    ASSERT_EQ(r.rc, 0) << r.err;
  }
};

TEST_F(CaCommand, InitWritesKeyAndCertWithModes) {
  const std::time_t now = std::time(nullptr);
  const Outcome r = run({"init", "--out", ca_dir.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_TRUE(contains(r.out, (ca_dir / "ca.key").string())) << r.out;
  EXPECT_TRUE(contains(r.out, (ca_dir / "ca.crt").string())) << r.out;
  EXPECT_EQ(test::mode_of(ca_dir), 0700U);
  EXPECT_EQ(test::mode_of(ca_dir / "ca.key"), 0600U);
  EXPECT_EQ(test::mode_of(ca_dir / "ca.crt"), 0644U);

  auto certs = certs_in(ca_dir / "ca.crt");
  ASSERT_EQ(certs.size(), 1U);
  X509* ca = certs[0].get();
  EXPECT_EQ(X509_self_signed(ca, 1), 1);
  EXPECT_EQ(X509_check_ca(ca), 1);
  EXPECT_EQ(test::name_entry(X509_get_subject_name(ca), NID_commonName), "distls CA");
  // Default lifetime: 87600h.
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notAfter(ca))),
              static_cast<double>(now + 87600LL * 3600), 5);
  ossl::PKey key = pem::read_private_key(pem::read_file(ca_dir / "ca.key"));
  EXPECT_EQ(X509_check_private_key(ca, key.get()), 1);
}

TEST_F(CaCommand, InitDirIsExactly0700WhateverTheUmask) {
  // A umask that strips the owner's write bit would otherwise leave a dir we cannot fill.
  const mode_t old = ::umask(0277);
  const Outcome r = run({"init", "--out", ca_dir.string()});
  ::umask(old);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(test::mode_of(ca_dir), 0700U);
  EXPECT_EQ(test::mode_of(ca_dir / "ca.crt"), 0644U);
}

TEST_F(CaCommand, InitAcceptsEqualsFormTtlAndCn) {
  const std::time_t now = std::time(nullptr);
  const Outcome r = run({"init", "--out=" + ca_dir.string(), "--ttl=48h", "--cn", "Team CA"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto certs = certs_in(ca_dir / "ca.crt");
  EXPECT_EQ(test::name_entry(X509_get_subject_name(certs[0].get()), NID_commonName), "Team CA");
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notAfter(certs[0].get()))),
              static_cast<double>(now + 48 * 3600), 5);
}

TEST_F(CaCommand, InitRefusesToOverwriteWithoutForce) {
  init_ca();
  const std::string key_before = pem::read_file(ca_dir / "ca.key");
  const Outcome r = run({"init", "--out", ca_dir.string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_EQ(r.err.rfind("distls ca init: ", 0), 0U) << r.err;
  EXPECT_TRUE(contains(r.err, "already exists")) << r.err;
  EXPECT_TRUE(contains(r.err, "--force")) << r.err;
  EXPECT_EQ(pem::read_file(ca_dir / "ca.key"), key_before);

  const Outcome forced = run({"init", "--out", ca_dir.string(), "--force"});
  EXPECT_EQ(forced.rc, 0) << forced.err;
  EXPECT_NE(pem::read_file(ca_dir / "ca.key"), key_before);
  EXPECT_EQ(test::mode_of(ca_dir / "ca.key"), 0600U);
}

TEST_F(CaCommand, IssueWritesAValidIdentity) {
  init_ca();
  const std::time_t now = std::time(nullptr);
  const Outcome r = run({"issue", "--ca-dir", ca_dir.string(), "--node", "app@127.0.0.5", "--out",
                     node_dir.string(), "--ttl", "2h", "--uri", "spiffe://td/ns/a/sa/b",
                     "--uri=spiffe://td/x"});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* f : {"tls.crt", "tls.key", "ca.crt"})
    EXPECT_TRUE(contains(r.out, (node_dir / f).string())) << r.out;
  EXPECT_EQ(test::mode_of(node_dir / "tls.key"), 0600U);
  EXPECT_EQ(test::mode_of(node_dir / "tls.crt"), 0644U);
  EXPECT_EQ(pem::read_file(node_dir / "ca.crt"), pem::read_file(ca_dir / "ca.crt"));

  auto chain = certs_in(node_dir / "tls.crt");
  ASSERT_EQ(chain.size(), 1U);  // a self-signed CA is not sent along
  X509* leaf = chain[0].get();
  EXPECT_EQ(test::name_entry(X509_get_subject_name(leaf), NID_commonName), "app@127.0.0.5");
  EXPECT_EQ(test::sans_of(leaf, GEN_IPADD), std::vector<std::string>{"127.0.0.5"});
  EXPECT_TRUE(test::sans_of(leaf, GEN_DNS).empty());
  EXPECT_EQ(test::sans_of(leaf, GEN_URI),
            (std::vector<std::string>{"spiffe://td/ns/a/sa/b", "spiffe://td/x"}));
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notAfter(leaf))),
              static_cast<double>(now + 7200), 5);
  EXPECT_NO_THROW(
      Identity::load_files(node_dir / "tls.crt", node_dir / "tls.key", node_dir / "ca.crt"));
}

TEST_F(CaCommand, IssueDefaultsAndDnsHost) {
  init_ca();
  const std::time_t now = std::time(nullptr);
  const Outcome r = run({"issue", "--ca-dir=" + ca_dir.string(), "--node=app@app-0.svc.example",
                     "--out=" + node_dir.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto chain = certs_in(node_dir / "tls.crt");
  EXPECT_EQ(test::sans_of(chain[0].get(), GEN_DNS), std::vector<std::string>{"app-0.svc.example"});
  EXPECT_TRUE(test::sans_of(chain[0].get(), GEN_IPADD).empty());
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notAfter(chain[0].get()))),
              static_cast<double>(now + 24 * 3600), 5);
}

TEST_F(CaCommand, IssueWithIntermediateSendsIt) {
  test::TestCa root = test::make_ca("root");
  test::TestCa inter = test::make_intermediate(root);
  fs::create_directory(ca_dir);
  pem::write_file_atomic(ca_dir / "ca.key", pem::private_key_to_pem(inter.key.get()), 0600);
  pem::write_file_atomic(ca_dir / "ca.crt",
                         pem::cert_to_pem(inter.cert.get()) + pem::cert_to_pem(root.cert.get()),
                         0644);
  const Outcome r = run({"issue", "--ca-dir", ca_dir.string(), "--node", "app@10.1.2.3", "--out",
                     node_dir.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto chain = certs_in(node_dir / "tls.crt");
  ASSERT_EQ(chain.size(), 2U);
  EXPECT_EQ(X509_cmp(chain[1].get(), inter.cert.get()), 0);
  // Peers holding only the root can verify it.
  Identity id;
  id.chain = std::move(chain);
  id.key = pem::read_private_key(pem::read_file(node_dir / "tls.key"));
  id.trust.push_back(ossl::share(root.cert.get()));
  EXPECT_NO_THROW(id.validate());
}

TEST_F(CaCommand, BadNodeIsAUsageError) {
  init_ca();
  for (const std::string node : {"app", "@10.0.0.5", "app@", "a.b@10.0.0.5", "app x@h"}) {
    const Outcome r = run({"issue", "--ca-dir", ca_dir.string(), "--node", node, "--out",
                       node_dir.string()});
    EXPECT_EQ(r.rc, 2) << node;
    EXPECT_TRUE(one_line(r.err)) << node << ": " << r.err;
    EXPECT_EQ(r.err.rfind("distls ca issue: --node: ", 0), 0U) << r.err;
    EXPECT_FALSE(fs::exists(node_dir)) << node;
  }
}

TEST_F(CaCommand, UsageErrorsNameTheOption) {
  Outcome r = run({"init", "--out", ca_dir.string(), "--bogus", "1"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_TRUE(contains(r.err, "--bogus")) << r.err;

  r = run({"init", "--out"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(one_line(r.err) && contains(r.err, "--out")) << r.err;

  r = run({"init", "--out", "--ttl", "1h"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(contains(r.err, "--out")) << r.err;

  r = run({"init", "--out", ca_dir.string(), "--ttl", "forever"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(one_line(r.err) && contains(r.err, "--ttl")) << r.err;

  r = run({"issue", "--node", "app@h", "--out", node_dir.string()});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(contains(r.err, "--ca-dir")) << r.err;

  r = run({"rotate"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(one_line(r.err) && contains(r.err, "rotate")) << r.err;

  EXPECT_EQ(run({}).rc, 2);
  EXPECT_FALSE(fs::exists(ca_dir));
}

TEST_F(CaCommand, HelpPrintsUsage) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"}, {"issue", "--help"}}) {
    const Outcome r = run(args);
    EXPECT_EQ(r.rc, 0);
    EXPECT_TRUE(contains(r.out, "distls ca init")) << r.out;
    EXPECT_TRUE(contains(r.out, "distls ca issue")) << r.out;
    EXPECT_TRUE(r.err.empty());
  }
}

TEST_F(CaCommand, IssueFailuresExitOne) {
  const Outcome r = run({"issue", "--ca-dir", ca_dir.string(), "--node", "app@10.0.0.5", "--out",
                     node_dir.string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_EQ(r.err.rfind("distls ca issue: ", 0), 0U) << r.err;
  EXPECT_TRUE(contains(r.err, (ca_dir / "ca.crt").string())) << r.err;
  EXPECT_FALSE(fs::exists(node_dir));
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

// distls ca reads its options from the environment as every other command does; the
// command line wins.
TEST_F(CaCommand, OptionsComeFromTheEnvironmentToo) {
  init_ca();
  ::setenv("DISTLS_CA_DIR", ca_dir.string().c_str(), 1);
  ::setenv("DISTLS_NODE", "app@10.9.8.7", 1);
  ::setenv("DISTLS_TTL", "2h", 1);
  const std::time_t now = std::time(nullptr);
  const Outcome r = run({"issue", "--out", node_dir.string(), "--ttl", "3h"});
  ::unsetenv("DISTLS_CA_DIR");
  ::unsetenv("DISTLS_NODE");
  ::unsetenv("DISTLS_TTL");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto chain = certs_in(node_dir / "tls.crt");
  EXPECT_EQ(test::sans_of(chain[0].get(), GEN_IPADD), std::vector<std::string>{"10.9.8.7"});
  EXPECT_NEAR(static_cast<double>(test::to_time_t(X509_get0_notAfter(chain[0].get()))),
              static_cast<double>(now + 3 * 3600), 5)
      << "the command line wins over DISTLS_TTL";
}

}  // namespace
}  // namespace distls
