// The Kubernetes client against our API double (tests/k8s), started per test: the
// requests distls makes, Status errors, 409, 410, throttling and server errors,
// token rotation. Skipped when the double's path is not given (DISTLS_K8S_DOUBLE).
#include "distls/k8s/client.hpp"

#include <sstream>


#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/proxy/tls_test_support.hpp"
#include "tests/certs/k8s/k8s_double_support.hpp"
#include "distls/x509/csr.hpp"
#include "distls/k8s/csr_source.hpp"

namespace distls::k8s {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;
using http::verb;

class K8sClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("DISTLS_K8S_DOUBLE")) GTEST_SKIP() << "DISTLS_K8S_DOUBLE is not set (ctest sets it)";
    api.emplace(dir.path());
    ASSERT_TRUE(api->up()) << "the API double did not start; see " << (dir / "log");
    // The requester role deploy/example grants the sidecars' service account.
    auto admin = client(api->admin_token());
    auto granted = call(admin, verb::put, "/_double/permissions/users/system:serviceaccount:shop:app",
                        json::object{{"rules", json::array{json::object{
                                                   {"apiGroups", json::array{"certificates.k8s.io"}},
                                                   {"resources", json::array{"certificatesigningrequests"}},
                                                   {"verbs", json::array{"create", "get", "list", "watch"}}}}}});
    ASSERT_TRUE(granted.ok()) << granted.describe();
  }

  Client client(const std::string& token, ClientOptions o = {}) {
    o.backoff = std::chrono::milliseconds(10);
    return Client(io.get_executor(), api->connection(token), log, metrics, o);
  }
  Result call(Client& c, verb v, std::string target, std::optional<json::value> body = std::nullopt) {
    return test::run(io, c.request(v, std::move(target), std::move(body)));
  }
  json::value csr_body() {
    auto key = pem::generate_ec_p256();
    certs::Sans sans;
    sans.ips = {"10.1.2.3"};
    CsrSourceOptions o;
    o.signer_name = "distls.io/erlang-dist";
    o.name_prefix = "distls-test-";
    return csr_object(o, certs::csr_to_pem(certs::make_csr(key.get(), "app@10.1.2.3", sans).get()));
  }

  test::TempDir dir;
  std::optional<Double> api;
  boost::asio::io_context io;
  std::ostringstream out;
  Logger log{out, LogLevel::debug};
  Metrics metrics;
};

TEST_F(K8sClientTest, CreateGetAndTheServerSetsTheRequester) {
  auto app = client("app-token");
  auto created = call(app, verb::post, kCsrPath, csr_body());
  ASSERT_TRUE(created.ok()) << created.describe();
  const std::string name(created.body.at("metadata").at("name").as_string());
  EXPECT_TRUE(name.starts_with("distls-test-"));
  auto got = call(app, verb::get, std::string(kCsrPath) + "/" + name);
  ASSERT_TRUE(got.ok()) << got.describe();
  EXPECT_EQ(got.body.at("spec").at("username").as_string(), "system:serviceaccount:shop:app");
  EXPECT_EQ(metrics.value("distls_k8s_requests_total", {{"verb", "POST"}, {"code", "201"}}), 1u);
}

TEST_F(K8sClientTest, StatusErrorsBecomeClearMessages) {
  auto nobody = client("not-a-token");
  auto r = call(nobody, verb::get, kCsrPath);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason(), "Unauthorized");
  auto app = client("app-token");
  r = call(app, verb::get, std::string(kCsrPath) + "/no-such-csr");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.reason(), "NotFound");
  EXPECT_NE(r.describe().find("404 NotFound: "), std::string::npos) << r.describe();
  r = call(app, verb::get, "/api/v1/namespaces/shop/pods");
  EXPECT_EQ(r.status, 403) << r.describe();
  EXPECT_EQ(r.reason(), "Forbidden");
}

TEST_F(K8sClientTest, StaleResourceVersionIsA409Conflict) {
  auto admin = client(api->admin_token());
  auto created = call(admin, verb::post, kCsrPath, csr_body());
  ASSERT_TRUE(created.ok());
  auto stale = created.body;
  const std::string name(stale.at("metadata").at("name").as_string());
  auto approve = [&](json::value obj, const char* reason) {
    obj.as_object()["status"] = json::object{{"conditions", json::array{json::object{
                                                 {"type", "Approved"}, {"status", "True"}, {"reason", reason}}}}};
    return call(admin, verb::put, std::string(kCsrPath) + "/" + name + "/approval", obj);
  };
  EXPECT_TRUE(approve(stale, "First").ok());
  auto second = approve(stale, "Second");
  EXPECT_EQ(second.status, 409);
  EXPECT_EQ(second.reason(), "Conflict");
}

TEST_F(K8sClientTest, ThrottlingAndServerErrorsAreRetriedPostOnlyWhenSafe) {
  auto admin = client(api->admin_token());
  auto fault = [&](const char* method, int status, int count) {
    auto r = call(admin, verb::post, "/_double/faults",
                  json::object{{"method", method}, {"pathPrefix", kCsrPath}, {"count", count},
                               {"action", "status"}, {"status", status}});
    ASSERT_TRUE(r.ok()) << r.describe();
  };
  auto app = client("app-token");
  fault("GET", 503, 2);
  EXPECT_TRUE(call(app, verb::get, kCsrPath).ok()) << "GET retried past two 503s";
  fault("POST", 429, 2);
  EXPECT_TRUE(call(app, verb::post, kCsrPath, csr_body()).ok()) << "POST retried past two 429s";
  fault("POST", 503, 1);
  auto r = call(app, verb::post, kCsrPath, csr_body());
  EXPECT_EQ(r.status, 503) << "a POST that may have created something is not repeated";
  fault("GET", 500, 10);
  r = call(app, verb::get, kCsrPath);
  EXPECT_EQ(r.status, 500) << "retries are bounded";
  EXPECT_NE(out.str().find("k8s_retry"), std::string::npos);
}

TEST_F(K8sClientTest, WatchStreamsEventsAndReports410AfterCompaction) {
  auto admin = client(api->admin_token());
  auto list = call(admin, verb::get, kCsrPath);
  const std::string rv(list.body.at("metadata").at("resourceVersion").as_string());
  ASSERT_TRUE(call(admin, verb::post, kCsrPath, csr_body()).ok());
  ASSERT_TRUE(call(admin, verb::post, kCsrPath, csr_body()).ok());
  std::vector<std::string> types;
  auto end = test::run(io, admin.watch(std::string(kCsrPath) + "?watch=true&resourceVersion=" + rv,
                                        [&](const std::string& type, const json::value&) {
                                          types.push_back(type);
                                          return types.size() < 2;
                                        },
                                        std::chrono::seconds(30)));
  EXPECT_EQ(end.error, "");
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "ADDED"}));

  ASSERT_TRUE(call(admin, verb::post, "/_double/compact", json::object{}).ok());
  std::string code;
  end = test::run(io, admin.watch(std::string(kCsrPath) + "?watch=true&resourceVersion=" + rv,
                                  [&](const std::string& type, const json::value& obj) {
                                    if (type == "ERROR") code = std::to_string(obj.at("code").as_int64());
                                    return false;
                                  },
                                  std::chrono::seconds(30)));
  EXPECT_EQ(code, "410");
}

TEST_F(K8sClientTest, RotatedTokenFileIsReadAgain) {
  auto admin = client(api->admin_token());
  const auto token_file = dir / "token";
  pem::write_file_atomic(token_file, "app-token", 0600);
  Connection conn = api->connection("");
  conn.token_file = token_file;
  Client app(io.get_executor(), conn, log, metrics, {});
  EXPECT_TRUE(call(app, verb::get, kCsrPath).ok());
  auto rotated = call(admin, verb::post, "/_double/tokens/rotate",
                      json::object{{"user", "system:serviceaccount:shop:app"}, {"revokeOld", true}});
  ASSERT_TRUE(rotated.ok()) << rotated.describe();
  EXPECT_EQ(call(app, verb::get, kCsrPath).status, 401) << "the old token is revoked";
  pem::write_file_atomic(token_file, std::string(rotated.body.at("token").as_string()), 0600);
  EXPECT_TRUE(call(app, verb::get, kCsrPath).ok()) << "the rewritten file is read again";
}

}  // namespace
}  // namespace distls::k8s

namespace distls::k8s {
namespace {

// Every OpenSSL setter that makes the client check the API server's name is checked in
// turn: a name OpenSSL refuses must be an error, never a connection to a server whose
// certificate is then checked against no name at all.
TEST(K8sServerName, NamesOpenSslCannotCheckAreErrors) {
  ossl::SslCtx ctx{SSL_CTX_new(TLS_client_method())};
  auto error_for = [&](const std::string& name) {
    ossl::Ssl ssl{SSL_new(ctx.get())};
    return expect_server_name(ssl.get(), name);
  };
  EXPECT_EQ(error_for("kubernetes.default.svc"), "");
  EXPECT_EQ(error_for("10.96.0.1"), "");
  EXPECT_EQ(error_for("::1"), "");
  EXPECT_NE(error_for(std::string("kubernetes\0.evil.example", 24)), "") << "an embedded NUL";
  EXPECT_NE(error_for(std::string(300, 'a')), "") << "longer than SNI carries";
  EXPECT_NE(error_for(""), "");
}

TEST_F(K8sClientTest, AServerNameThatCannotBeCheckedIsATransportErrorAndNothingIsSent) {
  auto conn = api->connection("app-token");
  conn.tls_server_name = std::string("127.0.0.1\0.evil", 15);
  Client c(io.get_executor(), conn, log, metrics);
  const auto seq_before = call(*std::make_unique<Client>(client(api->admin_token())), verb::get, "/_double/status")
                              .body.at("lastRequestSeq").as_int64();
  auto r = call(c, verb::get, kCsrPath);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.transport_error.find("holds a NUL"), std::string::npos) << r.describe();
  const auto seq_after = call(*std::make_unique<Client>(client(api->admin_token())), verb::get, "/_double/status")
                             .body.at("lastRequestSeq").as_int64();
  EXPECT_EQ(seq_after, seq_before) << "a request reached the server";
}

}  // namespace
}  // namespace distls::k8s
