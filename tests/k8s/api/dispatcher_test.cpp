#include "tests/k8s/api/dispatcher.hpp"

#include <sstream>

#include <gtest/gtest.h>

#include "tests/k8s/k8s_test_support.hpp"

namespace distls::k8s_double {
namespace {

using test::body_of;
using test::kCsrs;
namespace json = boost::json;

class DispatcherTest : public ::testing::Test, protected test::ApiFixture {
 protected:
  std::ostringstream log_out;
  Logger logger{log_out, LogLevel::info};
  FaultInjector faults;
  RequestLog log;
  WatchHub hub;
  ControlApi control{store, tokens, faults, log, hub, ids, [this] { return now; }};
  Dispatcher dispatcher{api, control, tokens, faults, log, logger, [this] { return now; }};

  Decision send(const std::string& method, const std::string& target, const std::string& token,
                const std::string& body = "") {
    ApiRequest req = test::request(method, target, body);
    if (!token.empty()) req.authorization = "Bearer " + token;
    return dispatcher.handle(req);
  }
  Reply reply(const std::string& method, const std::string& target, const std::string& token,
              const std::string& body = "") {
    Decision d = send(method, target, token, body);
    EXPECT_TRUE(std::holds_alternative<Reply>(d)) << target;
    return std::holds_alternative<Reply>(d) ? std::get<Reply>(d) : Reply{};
  }
};

TEST_F(DispatcherTest, UnknownOrMissingTokenIs401Status) {
  for (const std::string token : {"", "wrong"}) {
    const Reply r = reply("GET", "/version", token);
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(body_of(r).at("reason").as_string(), "Unauthorized");
  }
  EXPECT_EQ(reply("GET", "/healthz", "").status, 200u);
}

TEST_F(DispatcherTest, RevokedAndExpiredTokensStopWorking) {
  tokens.add("short", "system:serviceaccount:app:web", {}, std::chrono::seconds(60));
  EXPECT_EQ(reply("GET", kCsrs, "short").status, 200u);
  now += std::chrono::seconds(61);
  EXPECT_EQ(reply("GET", kCsrs, "short").status, 401u);
  EXPECT_EQ(reply("POST", "/_double/tokens/rotate", "admin-token",
                  R"({"user":"system:serviceaccount:app:web","token":"new"})")
                .status,
            201u);
  EXPECT_EQ(reply("GET", kCsrs, "sa-token").status, 401u);
  EXPECT_EQ(reply("GET", kCsrs, "new").status, 200u);
}

TEST_F(DispatcherTest, ControlApiIsForTheAdminOnly) {
  EXPECT_EQ(reply("GET", "/_double/requests", "sa-token").status, 403u);
  EXPECT_EQ(reply("GET", "/_double/requests", "").status, 401u);
  EXPECT_EQ(reply("GET", "/_double/requests", "admin-token").status, 200u);
}

TEST_F(DispatcherTest, FaultsAreConsumedInOrderAndOnlyByMatchingRequests) {
  ASSERT_EQ(reply("POST", "/_double/faults", "admin-token",
                  R"({"method":"POST","pathPrefix":"/apis/certificates.k8s.io","count":2,"status":503})")
                .status,
            201u);
  ASSERT_EQ(reply("POST", "/_double/faults", "admin-token",
                  R"({"pathPrefix":"/apis","status":429,"retryAfterSeconds":3})")
                .status,
            201u);
  const std::string body = json::serialize(test::csr_object("c1"));
  EXPECT_EQ(reply("POST", kCsrs, "sa-token", body).status, 503u);
  EXPECT_EQ(reply("POST", kCsrs, "sa-token", body).status, 503u);
  const Reply throttled = reply("GET", kCsrs, "sa-token");
  EXPECT_EQ(throttled.status, 429u);
  EXPECT_EQ(body_of(throttled).at("reason").as_string(), "TooManyRequests");
  ASSERT_EQ(throttled.headers.size(), 1u);
  EXPECT_EQ(throttled.headers[0], (std::pair<std::string, std::string>{"Retry-After", "3"}));
  EXPECT_EQ(reply("POST", kCsrs, "sa-token", body).status, 201u);
}

TEST_F(DispatcherTest, ConnectionFaults) {
  faults.add(FaultRule{0, "", "/apis", true, 1, FaultRule::Action::hang, 0, "", {}, {}});
  faults.add(FaultRule{0, "GET", "/apis", {}, 1, FaultRule::Action::close, 0, "", {}, {}});
  faults.add(FaultRule{
      0, "GET", "/api/", {}, 1, FaultRule::Action::delay, 0, "", {}, std::chrono::milliseconds(250)});
  EXPECT_TRUE(std::holds_alternative<Hang>(send("GET", std::string(kCsrs) + "?watch=true", "sa-token")));
  EXPECT_TRUE(std::holds_alternative<Drop>(send("GET", kCsrs, "sa-token")));
  const Decision d = send("GET", "/api/v1/pods", "signer-token");
  ASSERT_TRUE(std::holds_alternative<Delay>(d));
  EXPECT_EQ(std::get<Delay>(d).ms, std::chrono::milliseconds(250));
  EXPECT_TRUE(std::holds_alternative<Reply>(dispatcher.handle(
      [&] {
        auto r = test::request("GET", "/api/v1/pods");
        r.authorization = "Bearer signer-token";
        return r;
      }(),
      true)));
}

TEST_F(DispatcherTest, RequestLogRecordsUserStatusAndFault) {
  reply("GET", kCsrs, "sa-token");
  reply("GET", kCsrs, "nope");
  faults.add(FaultRule{0, "", "/version", {}, 1, FaultRule::Action::status, 500, "", {}, {}});
  reply("GET", "/version", "sa-token");
  reply("GET", "/_double/status", "admin-token");  // control traffic is not logged
  const auto entries = log.since(0);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].user, "system:serviceaccount:app:web");
  EXPECT_EQ(entries[0].status, 200u);
  EXPECT_EQ(entries[1].user, "");
  EXPECT_EQ(entries[1].status, 401u);
  EXPECT_EQ(entries[2].status, 500u);
  EXPECT_EQ(entries[2].fault, "status");
  EXPECT_NE(log_out.str().find("request method=GET"), std::string::npos);
}

TEST_F(DispatcherTest, ControlApiShapesPodsAndPermissions) {
  const Reply put = reply("PUT", "/_double/namespaces/app/pods/web-0", "admin-token",
                          R"({"spec":{"serviceAccountName":"web"},"status":{"podIP":"127.0.0.2"}})");
  ASSERT_EQ(put.status, 201u) << put.body;
  const json::object pod = body_of(put);
  EXPECT_EQ(string_at(pod, {"status", "phase"}), "Running");
  EXPECT_EQ(pod.at("status").at("podIPs").as_array().at(0).at("ip").as_string(), "127.0.0.2");
  const std::string uid = string_at(pod, {"metadata", "uid"});
  const Reply again =
      reply("PUT", "/_double/namespaces/app/pods/web-0", "admin-token",
            R"({"spec":{"serviceAccountName":"web"},"status":{"podIP":"127.0.0.2","phase":"Succeeded"}})");
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(string_at(body_of(again), {"metadata", "uid"}), uid);

  EXPECT_EQ(reply("GET", "/api/v1/namespaces/app/pods", "sa-token").status, 403u);
  ASSERT_EQ(reply("PUT", "/_double/permissions/users/system:serviceaccount:app:web", "admin-token",
                  R"({"rules":[{"verbs":["list"],"apiGroups":[""],"resources":["pods"],"namespaces":["app"]}]})")
                .status,
            200u);
  EXPECT_EQ(reply("GET", "/api/v1/namespaces/app/pods", "sa-token").status, 200u);
  EXPECT_EQ(reply("GET", "/api/v1/namespaces/kube-system/pods", "sa-token").status, 403u);
  EXPECT_EQ(reply("DELETE", "/_double/namespaces/app/pods/web-0", "admin-token").status, 200u);
  EXPECT_EQ(reply("DELETE", "/_double/namespaces/app/pods/web-0", "admin-token").status, 404u);
}

TEST_F(DispatcherTest, CompactThroughTheControlApi) {
  const auto before = store.resource_version();
  reply("POST", kCsrs, "sa-token", json::serialize(test::csr_object("c1")));
  const json::object r = body_of(reply("POST", "/_double/compact", "admin-token"));
  EXPECT_EQ(r.at("compactedResourceVersion").as_string(), std::to_string(store.resource_version()));
  EXPECT_FALSE(store.events_after(before, "certificatesigningrequests"));
}

TEST_F(DispatcherTest, BoundTokensThroughTheControlApi) {
  tokens.set_pod_lookup([this](const std::string& ns, const std::string& name) -> std::optional<std::string> {
    const auto* pod = store.get("pods", ns, name);
    if (pod == nullptr) return std::nullopt;
    return string_at(*pod, {"metadata", "uid"});
  });
  const std::string user = R"("user":"system:serviceaccount:app:web")";
  EXPECT_EQ(reply("POST", "/_double/tokens", "admin-token", "{" + user + R"(,"boundPod":"web-0"})").status, 404u);
  ASSERT_EQ(reply("PUT", "/_double/namespaces/app/pods/web-0", "admin-token",
                  R"({"spec":{"serviceAccountName":"db","nodeName":"n1"},"status":{"podIP":"127.0.0.2"}})")
                .status,
            201u);
  const Reply wrong_sa = reply("POST", "/_double/tokens", "admin-token", "{" + user + R"(,"boundPod":"web-0"})");
  EXPECT_EQ(wrong_sa.status, 400u);
  EXPECT_NE(body_of(wrong_sa).at("message").as_string().find("running with serviceaccount \"db\""), std::string::npos);
  EXPECT_EQ(reply("POST", "/_double/tokens", "admin-token", R"({"user":"alice","boundPod":"web-0"})").status, 400u);
  ASSERT_EQ(reply("PUT", "/_double/namespaces/app/pods/web-0", "admin-token",
                  R"({"spec":{"serviceAccountName":"web","nodeName":"n1"},"status":{"podIP":"127.0.0.2"}})")
                .status,
            200u);
  const Reply issued =
      reply("POST", "/_double/tokens", "admin-token", "{" + user + R"(,"token":"bound","boundPod":"web-0"})");
  ASSERT_EQ(issued.status, 201u) << issued.body;
  EXPECT_EQ(body_of(issued).at("extra").at("authentication.kubernetes.io/node-name").at(0).as_string(), "n1");
  EXPECT_EQ(reply("GET", kCsrs, "bound").status, 200u);
  // Replaced by a pod of the same name (new uid): the token no longer authenticates.
  ASSERT_EQ(reply("DELETE", "/_double/namespaces/app/pods/web-0", "admin-token").status, 200u);
  ASSERT_EQ(reply("PUT", "/_double/namespaces/app/pods/web-0", "admin-token",
                  R"({"spec":{"serviceAccountName":"web"},"status":{"podIP":"127.0.0.2"}})")
                .status,
            201u);
  EXPECT_EQ(reply("GET", kCsrs, "bound").status, 401u);
  // Rotation binds the new token to the pod as it is now.
  const Reply rotated = reply("POST", "/_double/tokens/rotate", "admin-token",
                              "{" + user + R"(,"token":"bound-2","boundPod":"web-0"})");
  ASSERT_EQ(rotated.status, 201u);
  EXPECT_EQ(reply("GET", kCsrs, "bound-2").status, 200u);
  EXPECT_FALSE(body_of(rotated).at("extra").as_object().contains("authentication.kubernetes.io/node-name"));
}

TEST_F(DispatcherTest, PermissionsBecomeRbacObjects) {
  const std::string web = "/_double/permissions/users/system:serviceaccount:app:web";
  // Rules are PolicyRules: API groups are required.
  EXPECT_EQ(reply("PUT", web, "admin-token", R"({"rules":[{"verbs":["get"],"resources":["statefulsets"]}]})").status,
            422u);
  const Reply granted = reply("PUT", web, "admin-token", R"({"rules":[
      {"verbs":["get"],"apiGroups":["apps"],"resources":["statefulsets"],"namespaces":["app","db"]},
      {"verbs":["get"],"apiGroups":[""],"resources":["pods"]}]})");
  ASSERT_EQ(granted.status, 200u) << granted.body;
  EXPECT_EQ(body_of(granted).at("items").as_array().size(), 6u);  // ClusterRole, 2 Roles, and their bindings
  EXPECT_NE(store.get("roles", "db", "double:user:system:serviceaccount:app:web"), nullptr);
  EXPECT_EQ(reply("GET", "/apis/apps/v1/namespaces/app/statefulsets/x", "sa-token").status, 404u);  // allowed
  EXPECT_EQ(reply("GET", "/apis/apps/v1/namespaces/other/statefulsets/x", "sa-token").status, 403u);
  EXPECT_EQ(reply("GET", "/api/v1/namespaces/other/pods/x", "sa-token").status, 404u);
  // Replacing the grant drops what it gave before.
  ASSERT_EQ(reply("PUT", web, "admin-token", R"({"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}]})")
                .status,
            200u);
  EXPECT_EQ(store.get("roles", "db", "double:user:system:serviceaccount:app:web"), nullptr);
  EXPECT_EQ(reply("GET", "/apis/apps/v1/namespaces/app/statefulsets/x", "sa-token").status, 403u);
  ASSERT_EQ(reply("DELETE", web, "admin-token").status, 200u);
  EXPECT_EQ(reply("GET", "/api/v1/namespaces/other/pods/x", "sa-token").status, 403u);
  // RBAC objects straight from a List.
  ASSERT_EQ(reply("POST", "/_double/rbac", "admin-token", R"({"kind":"List","items":[
      {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"x"},
       "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
       "subjects":[{"kind":"Group","name":"system:serviceaccounts:app"}]}]})")
                .status,
            200u);
  EXPECT_EQ(reply("GET", "/api/v1/namespaces/other/pods/x", "sa-token").status, 404u);
  EXPECT_EQ(reply("POST", "/_double/rbac", "admin-token", R"({"apiVersion":"v1","kind":"Pod"})").status, 400u);
}

TEST_F(DispatcherTest, PodsWithoutAnIpAreUntilTheyHaveOne) {
  const Reply pending = reply("PUT", "/_double/namespaces/app/pods/web-0", "admin-token",
                              R"({"metadata":{"labels":{"a":"b"},"ownerReferences":[{"apiVersion":"apps/v1",
                                  "kind":"StatefulSet","name":"web","uid":"u","controller":true}]},
                                  "spec":{"serviceAccountName":"web"}})");
  ASSERT_EQ(pending.status, 201u);
  const json::object pod = body_of(pending);
  EXPECT_EQ(string_at(pod, {"status", "phase"}), "Pending");
  EXPECT_FALSE(pod.at("status").as_object().contains("podIP"));
  EXPECT_EQ(pod.at("metadata").at("ownerReferences").at(0).at("kind").as_string(), "StatefulSet");
  EXPECT_EQ(pod.at("metadata").at("labels").at("a").as_string(), "b");
  const Reply sts = reply("PUT", "/_double/namespaces/app/statefulsets/web", "admin-token",
                          R"({"spec":{"serviceName":"web-headless"}})");
  ASSERT_EQ(sts.status, 201u);
  EXPECT_EQ(body_of(sts).at("spec").at("replicas").as_int64(), 1);
  EXPECT_EQ(string_at(body_of(sts), {"apiVersion"}), "apps/v1");
}

}  // namespace
}  // namespace distls::k8s_double
