// distls signer against the API double: a CSR made with a pod's bound token is decided
// as signer_policy says, and the decision reaches the API (condition, certificate, Event).
#include "distls/k8s/signer.hpp"

#include <fstream>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/proxy/tls_test_support.hpp"
#include "distls/util/base64.hpp"
#include "distls/x509/csr.hpp"
#include "distls/k8s/csr_source.hpp"
#include "distls/util/options.hpp"
#include "tests/certs/k8s/k8s_double_support.hpp"

namespace distls::k8s {
namespace {

namespace json = boost::json;
using boost::beast::http::verb;

class SignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("DISTLS_K8S_DOUBLE")) GTEST_SKIP() << "DISTLS_K8S_DOUBLE is not set (ctest sets it)";
    api.emplace(dir.path());
    ASSERT_TRUE(api->up()) << "the API double did not start; see " << (dir / "log");
    admin.emplace(io.get_executor(), api->connection(api->admin_token()), log, metrics);
    auto granted = call(verb::put, "/_double/permissions/users/system:serviceaccount:shop:app",
                        json::object{{"rules", json::array{json::object{
                                                   {"apiGroups", json::array{"certificates.k8s.io"}},
                                                   {"resources", json::array{"certificatesigningrequests"}},
                                                   {"verbs", json::array{"create", "get", "list", "watch"}}}}}});
    ASSERT_TRUE(granted.ok()) << granted.describe();
    pem::write_file_atomic(dir / "signer-ca.crt", pem::cert_to_pem(ca.cert.get()), 0644);
    pem::write_file_atomic(dir / "signer-ca.key", pem::private_key_to_pem(ca.key.get()), 0600);
    SignerOptions o;
    o.policy.signer_name = "distls.io/erlang-dist";
    o.policy.trust_domain = "cluster.local";
    o.ca_cert = dir / "signer-ca.crt";
    o.ca_key = dir / "signer-ca.key";
    o.instance = "test";
    signer.emplace(*admin, o, log, metrics, tasks, [] { return true; });
  }

  Result call(verb v, std::string target, std::optional<json::value> body = std::nullopt) {
    return test::run(io, admin->request(v, std::move(target), std::move(body)));
  }

  void add_pod(const std::string& name, const std::string& ip) {
    auto r = call(verb::put, "/_double/namespaces/shop/pods/" + name,
                  json::object{{"spec", json::object{{"serviceAccountName", "app"}}},
                               {"status", json::object{{"podIP", ip}, {"phase", "Running"}}}});
    ASSERT_TRUE(r.ok()) << r.describe();
  }

  std::string token_bound_to(const std::string& pod) {
    auto r = call(verb::post, "/_double/tokens",
                  json::object{{"user", "system:serviceaccount:shop:app"}, {"boundPod", pod}});
    EXPECT_TRUE(r.ok()) << r.describe();
    return std::string(r.body.at("token").as_string());
  }

  // Creates a CSR for `ip` with `token` and lets the signer decide it; returns the CSR after.
  json::value decide(const std::string& token, const std::string& ip) {
    Client requester(io.get_executor(), api->connection(token), log, metrics);
    auto key = pem::generate_ec_p256();
    certs::Sans sans;
    sans.ips = {ip};
    CsrSourceOptions o;
    o.signer_name = "distls.io/erlang-dist";
    o.name_prefix = "distls-test-";
    auto created = test::run(io, requester.request(verb::post, kCsrPath,
                                                   csr_object(o, certs::csr_to_pem(certs::make_csr(key.get(), "app@" + ip, sans).get()))));
    EXPECT_TRUE(created.ok()) << created.describe();
    test::run(io, signer->process(created.body));
    const std::string name(created.body.at("metadata").at("name").as_string());
    return call(verb::get, std::string(kCsrPath) + "/" + name).body;
  }

  static std::string condition(const json::value& csr) {
    const auto* conds = csr.at("status").as_object().if_contains("conditions");
    if (!conds) return "none";
    std::string out;
    for (const auto& c : conds->as_array()) {
      if (!out.empty()) out += ',';
      out += std::string_view(c.at("type").as_string());
      out += ':';
      out += std::string_view(c.at("reason").as_string());
    }
    return out;
  }

  test::TempDir dir;
  test::TestCa ca = test::make_ca("signer test CA");
  std::optional<Double> api;
  boost::asio::io_context io;
  std::ostringstream out;
  Logger log{out, LogLevel::debug};
  Metrics metrics;
  Tasks tasks{io.get_executor(), log, metrics};
  std::optional<Client> admin;
  std::optional<Signer> signer;
};

TEST_F(SignerTest, ThePodsOwnTokenGetsItsCertificateAndAnEvent) {
  add_pod("app-0", "10.1.2.3");
  const auto csr = decide(token_bound_to("app-0"), "10.1.2.3");
  EXPECT_EQ(condition(csr), "Approved:DistlsPodVerified") << out.str();
  const auto pem_chain = base64_decode(std::string(csr.at("status").at("certificate").as_string()));
  ASSERT_TRUE(pem_chain);
  EXPECT_EQ(test::sans_of(pem::read_certs(*pem_chain, "issued").front().get(), GEN_IPADD),
            (std::vector<std::string>{"10.1.2.3"}));
  auto events = call(verb::get, "/api/v1/namespaces/default/events");
  ASSERT_TRUE(events.ok()) << events.describe();
  std::string reasons;
  for (const auto& e : events.body.at("items").as_array())
    if (e.at("involvedObject").at("name") == csr.at("metadata").at("name")) reasons += std::string(e.at("reason").as_string()) + " ";
  EXPECT_EQ(reasons, "DistlsPodVerified Issued ");
}

TEST_F(SignerTest, ASiblingsTokenGetsNothingForAnotherPodsIp) {
  add_pod("app-0", "10.1.2.3");
  add_pod("app-1", "10.1.2.4");
  const auto csr = decide(token_bound_to("app-0"), "10.1.2.4");
  EXPECT_EQ(condition(csr), "Denied:WrongIP");
  EXPECT_FALSE(csr.at("status").as_object().contains("certificate"));
  EXPECT_EQ(metrics.value("distls_signer_decisions_total", {{"decision", "denied"}, {"reason", "WrongIP"}}), 1u);
}

}  // namespace
}  // namespace distls::k8s

namespace distls::k8s {
namespace {

TEST(SignerCommand, HelpAndDocsListEveryOption) {
  const auto usage = signer_usage();
  std::ifstream docs(std::string(DISTLS_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(docs) << "docs/configuration.md is missing";
  std::stringstream ss;
  ss << docs.rdbuf();
  const auto text = ss.str();
  const auto signer_part = text.substr(text.find("## `distls signer`"));
  for (const auto name : signer_option_names()) {
    const std::string flag = "--" + std::string(name);
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
    EXPECT_NE(signer_part.find("`" + flag), std::string::npos) << flag << " is not in docs/configuration.md";
    EXPECT_NE(signer_part.find(env_name(name)), std::string::npos) << env_name(name) << " is not documented";
  }
}

}  // namespace
}  // namespace distls::k8s
