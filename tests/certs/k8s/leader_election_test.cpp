// Leader election against the API double: one holder at a time, a stalled leader stops
// acting by its renew deadline, and a released Lease is taken over at once.
#include "distls/k8s/leader_election.hpp"

#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/proxy/tls_test_support.hpp"
#include "tests/certs/k8s/k8s_double_support.hpp"

namespace distls::k8s {
namespace {

namespace json = boost::json;
using boost::beast::http::verb;
using namespace std::chrono_literals;

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("DISTLS_K8S_DOUBLE")) GTEST_SKIP() << "DISTLS_K8S_DOUBLE is not set (ctest sets it)";
    api.emplace(dir.path());
    ASSERT_TRUE(api->up()) << "the API double did not start; see " << (dir / "log");
    client.emplace(io.get_executor(), api->connection(api->admin_token()), log, metrics);
  }

  LeaderElection election(const std::string& identity) {
    return LeaderElection(*client, {"distls-system", "distls-signer", identity, 3s, 2s, 1s}, log, metrics);
  }
  bool step(LeaderElection& e) { return test::run(io, e.step()); }
  json::value lease() {
    return test::run(io, client->request(verb::get, "/apis/coordination.k8s.io/v1/namespaces/distls-system/leases/distls-signer"))
        .body;
  }

  test::TempDir dir;
  std::optional<Double> api;
  boost::asio::io_context io;
  std::ostringstream out;
  Logger log{out, LogLevel::debug};
  Metrics metrics;
  std::optional<Client> client;
};

TEST_F(LeaderElectionTest, OneHolderAtATime) {
  auto a = election("a");
  auto b = election("b");
  EXPECT_TRUE(step(a));
  EXPECT_FALSE(step(b));
  EXPECT_TRUE(step(a)) << "renewed";
  EXPECT_EQ(lease().at("spec").at("holderIdentity"), "a");
}

// A leader whose API server stops answering must stop acting before another replica
// may take over: each renewal is time-boxed by the renew deadline, and leading() turns
// false once the last good renewal is older than that.
TEST_F(LeaderElectionTest, AStalledLeaderStopsActingByItsRenewDeadline) {
  auto a = election("a");
  ASSERT_TRUE(step(a));
  auto admin = test::run(io, client->request(verb::post, "/_double/faults",
                                              json::object{{"method", "*"},
                                                           {"pathPrefix", "/apis/coordination.k8s.io"},
                                                           {"count", 100},
                                                           {"action", "hang"}}));
  ASSERT_TRUE(admin.ok()) << admin.describe();
  EXPECT_FALSE(step(a)) << "still leading with the API hung";
  EXPECT_FALSE(a.leading());
  EXPECT_NE(out.str().find("leader_lost"), std::string::npos);
  // One attempt within the deadline, not the client's usual retries: one hung request.
  auto faults = test::run(io, client->request(verb::get, "/_double/faults"));
  ASSERT_TRUE(faults.ok()) << faults.describe();
  EXPECT_EQ(faults.body.at("items").at(0).at("remaining"), 99) << json::serialize(faults.body);
}

TEST_F(LeaderElectionTest, AReleasedLeaseIsTakenOverAtOnce) {
  auto a = election("a");
  auto b = election("b");
  ASSERT_TRUE(step(a));
  ASSERT_FALSE(step(b));
  test::run(io, a.release());
  EXPECT_FALSE(a.leading());
  EXPECT_EQ(lease().at("spec").at("holderIdentity"), "");
  EXPECT_EQ(lease().at("spec").at("leaseDurationSeconds"), 1);
  EXPECT_TRUE(step(b)) << "b waited for the lease to expire instead";
  EXPECT_NE(out.str().find("took over from nobody"), std::string::npos);
}

}  // namespace
}  // namespace distls::k8s
