// The Kubernetes client against our API double (tests/k8s), started per test: the
// requests distls makes, Status errors, 409, 410, throttling and server errors,
// token rotation. Skipped when the double's path is not given (DISTLS_K8S_DOUBLE).
#include "distls/k8s_client.hpp"

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>

#include <spawn.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "../proxy/tls_test_support.hpp"
#include "distls/csr.hpp"
#include "distls/k8s_csr_source.hpp"

extern char** environ;

namespace distls::k8s {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;
using http::verb;

class Double {
 public:
  explicit Double(const std::filesystem::path& dir) : dir_(dir) {
    const char* bin = std::getenv("DISTLS_K8S_DOUBLE");
    std::string state = dir.string();
    std::vector<std::string> args{bin, "--state-dir", state, "--listen", "127.0.0.1:0",
                                  "--token", "app-token=system:serviceaccount:shop:app"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, (dir / "log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, bin, &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 300 && !std::filesystem::exists(dir / "port"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // waiting for a process to start, not timing
  }
  ~Double() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool up() const { return pid_ > 0 && std::filesystem::exists(dir_ / "port"); }
  Connection connection(const std::string& token) const {
    Connection c;
    c.host = "127.0.0.1";
    c.port = static_cast<std::uint16_t>(std::stoi(pem::read_file(dir_ / "port")));
    c.ca_pem = pem::read_file(dir_ / "ca.crt");
    c.token = token;
    c.namespace_name = "shop";
    return c;
  }
  std::string admin_token() const {
    auto t = pem::read_file(dir_ / "admin-token");
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    return t;
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

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
  EXPECT_EQ(metrics.value("distls_k8s_requests_total", "verb=\"POST\",code=\"201\""), 1u);
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
