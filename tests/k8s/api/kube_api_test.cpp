#include "tests/k8s/api/kube_api.hpp"

#include <gtest/gtest.h>

#include "tests/k8s/k8s_test_support.hpp"

namespace distls::k8s_double {
namespace {

using test::body_of;
using test::csr_object;
using test::kCsrs;
using test::with_condition;
namespace json = boost::json;

class KubeApiTest : public ::testing::Test, protected test::ApiFixture {
 protected:
  std::string csr_url(const std::string& name, const std::string& sub = "") {
    return std::string(kCsrs) + "/" + name + (sub.empty() ? "" : "/" + sub);
  }
  void add_pod(const std::string& ns, const std::string& name, const std::string& ip, const std::string& sa) {
    store.put(
        "pods",
        json::object{{"kind", "Pod"},
                     {"apiVersion", "v1"},
                     {"metadata", json::object{{"name", name}, {"namespace", ns}, {"uid", "u-" + name}}},
                     {"spec", json::object{{"serviceAccountName", sa}}},
                     {"status", json::object{{"phase", "Running"},
                                             {"podIP", ip},
                                             {"podIPs", json::array{json::object{{"ip", ip}}}}}}},
        EventType::added);
  }
};

TEST_F(KubeApiTest, DiscoveryDocuments) {
  EXPECT_EQ(body_of(call(sa, "GET", "/version")).at("gitVersion").as_string(), "v1.32.0");
  EXPECT_EQ(body_of(call(sa, "GET", "/apis")).at("kind").as_string(), "APIGroupList");
  const json::object res = body_of(call(sa, "GET", "/apis/certificates.k8s.io/v1"));
  const auto& first = res.at("resources").as_array().at(0).as_object();
  EXPECT_EQ(first.at("name").as_string(), "certificatesigningrequests");
  EXPECT_EQ(first.at("shortNames").as_array().at(0).as_string(), "csr");
  EXPECT_EQ(res.at("resources").as_array().size(), 3u);
  EXPECT_EQ(call(sa, "GET", "/apis/batch/v1").status, 404u);
  EXPECT_EQ(body_of(call(sa, "GET", "/apis/apps/v1")).at("resources").as_array().at(0).at("name").as_string(),
            "statefulsets");
}

TEST_F(KubeApiTest, CreateGetAndDuplicate) {
  const json::object created = create(sa, "c1");
  EXPECT_EQ(string_at(created, {"kind"}), "CertificateSigningRequest");
  EXPECT_EQ(string_at(created, {"spec", "username"}), "system:serviceaccount:app:web");
  EXPECT_FALSE(string_at(created, {"metadata", "resourceVersion"}).empty());

  const json::object got = body_of(call(sa, "GET", csr_url("c1")));
  EXPECT_EQ(got, created);

  const Reply dup = call(sa, "POST", kCsrs, csr_object("c1"));
  EXPECT_EQ(dup.status, 409u);
  const json::object st = body_of(dup);
  EXPECT_EQ(st.at("kind").as_string(), "Status");
  EXPECT_EQ(st.at("reason").as_string(), "AlreadyExists");
  EXPECT_EQ(st.at("message").as_string(),
            "certificatesigningrequests.certificates.k8s.io \"c1\" already exists");

  const Reply missing = call(sa, "GET", csr_url("nope"));
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(body_of(missing).at("reason").as_string(), "NotFound");
}

TEST_F(KubeApiTest, InvalidCreateIs422WithCauses) {
  json::object bad = csr_object("c1");
  bad["spec"].as_object()["expirationSeconds"] = 60;
  const Reply r = call(sa, "POST", kCsrs, bad);
  EXPECT_EQ(r.status, 422u);
  const json::object st = body_of(r);
  EXPECT_EQ(st.at("reason").as_string(), "Invalid");
  EXPECT_EQ(st.at("details").at("causes").as_array().at(0).at("field").as_string(), "spec.expirationSeconds");
}

TEST_F(KubeApiTest, UndecodableBodiesAre400) {
  json::object bad = csr_object("c1");
  bad["spec"].as_object()["request"] = "not base64!";
  EXPECT_EQ(call(sa, "POST", kCsrs, bad).status, 400u);
  EXPECT_EQ(call(sa, "POST", kCsrs, std::string("{nope")).status, 400u);
  json::object unknown = csr_object("c2");
  unknown["spec"].as_object()["bogus"] = 1;
  EXPECT_EQ(call(sa, "POST", std::string(kCsrs) + "?fieldValidation=Strict", unknown).status, 400u);
  const Reply warned = call(sa, "POST", kCsrs, unknown);
  EXPECT_EQ(warned.status, 201u);
  ASSERT_EQ(warned.headers.size(), 1u);
  EXPECT_EQ(warned.headers[0].second, "299 - \"unknown field \\\"spec.bogus\\\"\"");
}

TEST_F(KubeApiTest, ListFiltersBySignerAndName) {
  create(sa, "a");
  ASSERT_EQ(call(sa, "POST", kCsrs, csr_object("b", "example.com/other")).status, 201u);
  create(sa, "c");
  const auto names = [&](const std::string& query) {
    std::vector<std::string> out;
    const json::object list = body_of(call(sa, "GET", std::string(kCsrs) + query));
    EXPECT_EQ(list.at("kind").as_string(), "CertificateSigningRequestList");
    for (const auto& i : list.at("items").as_array()) out.push_back(name_of(i.as_object()));
    return out;
  };
  EXPECT_EQ(names(""), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(names("?fieldSelector=spec.signerName%3Ddistls.io%2Ferlang-dist"),
            (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(names("?fieldSelector=metadata.name%3Db"), (std::vector<std::string>{"b"}));
  EXPECT_EQ(call(sa, "GET", std::string(kCsrs) + "?fieldSelector=spec.username%3Dx").status, 400u);
}

TEST_F(KubeApiTest, ListPagesWithLimitAndContinue) {
  for (const char* n : {"a", "b", "c"}) create(sa, n);
  json::object page = body_of(call(sa, "GET", std::string(kCsrs) + "?limit=2"));
  ASSERT_EQ(page.at("items").as_array().size(), 2u);
  const std::string token(page.at("metadata").at("continue").as_string());
  EXPECT_EQ(page.at("metadata").at("remainingItemCount").as_int64(), 1);
  page = body_of(call(sa, "GET", std::string(kCsrs) + "?limit=2&continue=" + token));
  ASSERT_EQ(page.at("items").as_array().size(), 1u);
  EXPECT_EQ(name_of(page.at("items").as_array()[0].as_object()), "c");
  EXPECT_FALSE(page.at("metadata").as_object().contains("continue"));
  store.compact();
  create(sa, "d");
  store.compact();
  EXPECT_EQ(call(sa, "GET", std::string(kCsrs) + "?limit=2&continue=" + token).status, 410u);
}

TEST_F(KubeApiTest, ApproveThenIssueAsTheSigner) {
  const json::object csr = create(sa, "c1");
  const Reply approved = call(signer, "PUT", csr_url("c1", "approval"), with_condition(csr, "Approved"));
  ASSERT_EQ(approved.status, 200u) << approved.body;
  json::object issued = body_of(approved);
  issued["status"].as_object()["certificate"] = base64_encode(test::cert_pem());
  const Reply r = call(signer, "PUT", csr_url("c1", "status"), issued);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(string_at(body_of(r), {"status", "certificate"}), "");
}

TEST_F(KubeApiTest, StalePutIsConflict) {
  const json::object csr = create(sa, "c1");
  const Reply approved = call(signer, "PUT", csr_url("c1", "approval"), with_condition(csr, "Approved"));
  ASSERT_EQ(approved.status, 200u);
  // The approved content, but with the resourceVersion from before the approval.
  json::object stale = body_of(approved);
  stale["metadata"].as_object()["resourceVersion"] = string_at(csr, {"metadata", "resourceVersion"});
  stale["status"].as_object()["certificate"] = base64_encode(test::cert_pem());
  const Reply r = call(signer, "PUT", csr_url("c1", "status"), stale);
  EXPECT_EQ(r.status, 409u);
  const json::object st = body_of(r);
  EXPECT_EQ(st.at("reason").as_string(), "Conflict");
  EXPECT_EQ(st.at("message").as_string(),
            "Operation cannot be fulfilled on certificatesigningrequests.certificates.k8s.io \"c1\": the "
            "object has "
            "been modified; please apply your changes to the latest version and try again");
  // Without a resourceVersion the update is unconditional (CSRs allow that).
  stale["metadata"].as_object().erase("resourceVersion");
  EXPECT_EQ(call(signer, "PUT", csr_url("c1", "status"), stale).status, 200u);
}

TEST_F(KubeApiTest, UidPreconditionCatchesARecreatedObject) {
  const json::object old = create(sa, "c1");
  ASSERT_EQ(call(admin, "DELETE", csr_url("c1")).status, 200u);
  create(sa, "c1");
  json::object next = with_condition(old, "Approved");
  next["metadata"].as_object().erase("resourceVersion");
  const Reply r = call(signer, "PUT", csr_url("c1", "approval"), next);
  EXPECT_EQ(r.status, 409u);
  EXPECT_NE(body_of(r).at("message").as_string().find("Precondition failed: UID in precondition"),
            std::string::npos);
}

TEST_F(KubeApiTest, NoOpUpdateKeepsTheResourceVersion) {
  const json::object csr = create(sa, "c1");
  const auto rv_before = store.resource_version();
  const Reply r = call(signer, "PUT", csr_url("c1", "status"), csr);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(string_at(body_of(r), {"metadata", "resourceVersion"}),
            string_at(csr, {"metadata", "resourceVersion"}));
  EXPECT_EQ(store.resource_version(), rv_before);
}

TEST_F(KubeApiTest, ForbiddenByRbac) {
  const json::object csr = create(sa, "c1");
  const Reply r = call(sa, "PUT", csr_url("c1", "approval"), with_condition(csr, "Approved"));
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(body_of(r).at("message").as_string(),
            "certificatesigningrequests.certificates.k8s.io \"c1\" is forbidden: User "
            "\"system:serviceaccount:app:web\" cannot update resource "
            "\"certificatesigningrequests/approval\" in API "
            "group \"certificates.k8s.io\" at the cluster scope");
  const Reply pods = call(sa, "GET", "/api/v1/namespaces/app/pods");
  EXPECT_EQ(pods.status, 403u);
  EXPECT_NE(body_of(pods).at("message").as_string().find("in the namespace \"app\""), std::string::npos);
}

TEST_F(KubeApiTest, ApprovingNeedsTheSignerVerbForThatSignerName) {
  const json::object csr = create(sa, "c1");
  const auto signer_role = [&](const char* signer_names) {
    ASSERT_TRUE(apply_rbac(store, json::parse(std::string(R"({"apiVersion":"rbac.authorization.k8s.io/v1",
        "kind":"ClusterRole","metadata":{"name":"signer"},"rules":[
        {"apiGroups":["certificates.k8s.io"],"resources":["certificatesigningrequests/approval"],"verbs":["update"]},
        {"apiGroups":["certificates.k8s.io"],"resources":["signers"],"verbs":["approve"],"resourceNames":[)") +
                                                          signer_names + "]}]}"),
                           ids, now));
  };
  signer_role(R"("example.com/*")");
  const Reply r = call(signer, "PUT", csr_url("c1", "approval"), with_condition(csr, "Approved"));
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(body_of(r).at("message").as_string().find(
                "user not permitted to approve requests with signerName \"distls.io/erlang-dist\""),
            std::string::npos);
  // resourceNames has no wildcard of its own: "*" is a signer called "*".
  signer_role(R"("*")");
  EXPECT_EQ(call(signer, "PUT", csr_url("c1", "approval"), with_condition(csr, "Approved")).status, 403u);
  signer_role(R"("distls.io/*")");
  EXPECT_EQ(call(signer, "PUT", csr_url("c1", "approval"), with_condition(csr, "Approved")).status, 200u);
}

TEST_F(KubeApiTest, MergePatchOnApproval) {
  create(sa, "c1");
  ApiRequest req =
      test::request("PATCH", csr_url("c1", "approval"),
                    R"({"status":{"conditions":[{"type":"Denied","status":"True","reason":"No"}]}})");
  req.content_type = "application/merge-patch+json";
  const auto o = api.handle(req, admin);  // the default signer role has update, not patch
  const Reply& r = std::get<Reply>(o);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(body_of(r).at("status").at("conditions").as_array().at(0).at("type").as_string(), "Denied");
}

TEST_F(KubeApiTest, DeleteReturnsSuccessStatus) {
  const json::object csr = create(sa, "c1");
  const Reply r = call(admin, "DELETE", csr_url("c1"));
  ASSERT_EQ(r.status, 200u);
  const json::object st = body_of(r);
  EXPECT_EQ(st.at("status").as_string(), "Success");
  EXPECT_EQ(st.at("details").at("uid").as_string(), string_at(csr, {"metadata", "uid"}));
  EXPECT_EQ(call(admin, "DELETE", csr_url("c1")).status, 404u);
}

TEST_F(KubeApiTest, PodsByIp) {
  add_pod("app", "web-0", "127.0.0.2", "web");
  add_pod("app", "web-1", "127.0.0.3", "web");
  add_pod("other", "x", "127.0.0.2", "x");
  const json::object list =
      body_of(call(signer, "GET", "/api/v1/namespaces/app/pods?fieldSelector=status.podIP%3D127.0.0.2"));
  EXPECT_EQ(list.at("kind").as_string(), "PodList");
  ASSERT_EQ(list.at("items").as_array().size(), 1u);
  const auto& pod = list.at("items").as_array()[0].as_object();
  EXPECT_EQ(name_of(pod), "web-0");
  EXPECT_EQ(string_at(pod, {"spec", "serviceAccountName"}), "web");
  EXPECT_EQ(body_of(call(signer, "GET", "/api/v1/pods?fieldSelector=status.podIP%3D127.0.0.2"))
                .at("items")
                .as_array()
                .size(),
            2u);
  EXPECT_EQ(string_at(body_of(call(signer, "GET", "/api/v1/namespaces/app/pods/web-1")), {"status", "podIP"}),
            "127.0.0.3");
  EXPECT_EQ(call(admin, "POST", "/api/v1/namespaces/app/pods", std::string("{}")).status, 405u);
}

TEST_F(KubeApiTest, TableForKubectlGet) {
  json::object csr = create(sa, "c1");
  ASSERT_EQ(call(signer, "PUT", csr_url("c1", "approval"), with_condition(csr, "Approved")).status, 200u);
  now += std::chrono::seconds(150);
  ApiRequest req = test::request("GET", std::string(kCsrs) + "?limit=500");
  req.accept =
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
      "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
  const Reply r = std::get<Reply>(api.handle(req, admin));
  const json::object table = body_of(r);
  EXPECT_EQ(table.at("kind").as_string(), "Table");
  EXPECT_EQ(table.at("columnDefinitions").as_array().size(), 6u);
  const auto& cells = table.at("rows").as_array().at(0).at("cells").as_array();
  EXPECT_EQ(cells[0].as_string(), "c1");
  EXPECT_EQ(cells[1].as_string(), "2m30s");
  EXPECT_EQ(cells[2].as_string(), "distls.io/erlang-dist");
  EXPECT_EQ(cells[3].as_string(), "system:serviceaccount:app:web");
  EXPECT_EQ(cells[4].as_string(), "60m");
  EXPECT_EQ(cells[5].as_string(), "Approved");
  EXPECT_EQ(table.at("rows").as_array().at(0).at("object").at("kind").as_string(), "PartialObjectMetadata");
}

TEST_F(KubeApiTest, WatchRequestsBecomeWatchSpecs) {
  const auto o = api.handle(
      test::request("GET", std::string(kCsrs) +
                               "?watch=true&resourceVersion=1234&timeoutSeconds=7&allowWatchBookmarks=true"
                               "&fieldSelector=metadata.name%3Dc1"),
      sa);
  ASSERT_TRUE(std::holds_alternative<WatchSpec>(o));
  const auto& w = std::get<WatchSpec>(o);
  EXPECT_FALSE(w.initial_state);
  EXPECT_EQ(w.since, 1234u);
  EXPECT_EQ(w.timeout, std::chrono::seconds(7));
  EXPECT_TRUE(w.bookmarks);
  EXPECT_EQ(w.fields.terms().size(), 1u);
  const auto initial = api.handle(test::request("GET", std::string(kCsrs) + "?watch=1"), sa);
  EXPECT_TRUE(std::get<WatchSpec>(initial).initial_state);
  const auto bad =
      api.handle(test::request("GET", std::string(kCsrs) + "?watch=true&resourceVersion=abc"), sa);
  EXPECT_EQ(std::get<Reply>(bad).status, 400u);
}

TEST_F(KubeApiTest, LeasesForLeaderElection) {
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/distls/leases";
  const auto lease = [](const std::string& holder) {
    return json::object{{"apiVersion", "coordination.k8s.io/v1"},
                        {"kind", "Lease"},
                        {"metadata", json::object{{"name", "distls-signer"}}},
                        {"spec", json::object{{"holderIdentity", holder},
                                              {"leaseDurationSeconds", 15},
                                              {"renewTime", "2023-11-14T22:13:20.000000Z"},
                                              {"leaseTransitions", 0}}}};
  };
  EXPECT_EQ(call(signer, "GET", leases + "/distls-signer").status, 404u);
  const Reply created = call(signer, "POST", leases, lease("replica-a"));
  ASSERT_EQ(created.status, 201u) << created.body;
  const json::object a = body_of(created);
  EXPECT_EQ(string_at(a, {"metadata", "namespace"}), "distls");
  EXPECT_EQ(call(signer, "POST", leases, lease("replica-b")).status, 409u);  // AlreadyExists

  // Both replicas read the lease, both try to take it: exactly one wins.
  json::object by_a = lease("replica-a");
  by_a["metadata"].as_object()["resourceVersion"] = string_at(a, {"metadata", "resourceVersion"});
  json::object by_b = lease("replica-b");
  by_b["metadata"].as_object()["resourceVersion"] = string_at(a, {"metadata", "resourceVersion"});
  by_a["spec"].as_object()["renewTime"] = "2023-11-14T22:13:25.000000Z";
  EXPECT_EQ(call(signer, "PUT", leases + "/distls-signer", by_a).status, 200u);
  EXPECT_EQ(call(signer, "PUT", leases + "/distls-signer", by_b).status, 409u);
  // An update must name the resourceVersion it read.
  const Reply unconditional = call(signer, "PUT", leases + "/distls-signer", lease("replica-b"));
  EXPECT_EQ(unconditional.status, 422u);
  json::object bad = lease("replica-b");
  bad["spec"].as_object()["leaseDurationSeconds"] = 0;
  EXPECT_EQ(call(signer, "POST", "/apis/coordination.k8s.io/v1/namespaces/other/leases", bad).status, 422u);
  EXPECT_EQ(call(sa, "GET", leases + "/distls-signer").status, 403u);
  EXPECT_EQ(call(signer, "POST", "/apis/coordination.k8s.io/v1/leases", lease("x")).status, 405u);
}

TEST_F(KubeApiTest, PodBoundTokenExtraIsCopiedIntoTheCsr) {
  add_pod("app", "web-0", "127.0.0.2", "web");
  auto pod = *store.get("pods", "app", "web-0");
  pod["spec"].as_object()["nodeName"] = "node-a";
  store.put("pods", pod, EventType::modified);
  const UserInfo bound =
      tokens.add("bound", "system:serviceaccount:app:web", {}, std::nullopt, BoundPod{"app", "web-0", "u-web-0", "node-a"})
          .user;
  json::object body = csr_object("c1");
  // Whatever the client claims is replaced by what the authenticator found.
  body["spec"].as_object()["extra"] = json::object{{"authentication.kubernetes.io/pod-name", json::array{"db-0"}}};
  const json::object csr = body_of(call(bound, "POST", kCsrs, body));
  const auto& extra = csr.at("spec").at("extra").as_object();
  EXPECT_EQ(extra.at("authentication.kubernetes.io/pod-name"), json::array{"web-0"});
  EXPECT_EQ(extra.at("authentication.kubernetes.io/pod-uid"), json::array{"u-web-0"});
  EXPECT_EQ(extra.at("authentication.kubernetes.io/node-name"), json::array{"node-a"});
  EXPECT_EQ(extra.at("authentication.kubernetes.io/node-uid").as_array().size(), 1u);
  EXPECT_TRUE(extra.at("authentication.kubernetes.io/credential-id").at(0).as_string().starts_with("JTI="));
  EXPECT_EQ(extra.size(), 5u);
  // A legacy token's CSR has no extra at all.
  EXPECT_FALSE(create(sa, "c2").at("spec").as_object().contains("extra"));
}

TEST_F(KubeApiTest, RbacObjectsThroughTheApi) {
  const std::string roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/app/roles";
  const std::string bindings = "/apis/rbac.authorization.k8s.io/v1/namespaces/app/rolebindings";
  const json::object role = json::parse(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role",
      "metadata":{"name":"pods"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["list"]}]})").as_object();
  const json::object binding = json::parse(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding",
      "metadata":{"name":"pods"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pods"},
      "subjects":[{"kind":"ServiceAccount","name":"web"},{"kind":"User","name":"alice"}]})").as_object();
  EXPECT_EQ(call(sa, "GET", "/api/v1/namespaces/app/pods").status, 403u);
  EXPECT_EQ(call(sa, "POST", roles, role).status, 403u);  // nobody but the admin writes RBAC here
  ASSERT_EQ(call(admin, "POST", roles, role).status, 201u);
  const Reply created = call(admin, "POST", bindings, binding);
  ASSERT_EQ(created.status, 201u) << created.body;
  // SetDefaults_Subject: a User subject is in the rbac group.
  EXPECT_EQ(body_of(created).at("subjects").at(1).at("apiGroup").as_string(), "rbac.authorization.k8s.io");
  EXPECT_EQ(call(sa, "GET", "/api/v1/namespaces/app/pods").status, 200u);
  EXPECT_EQ(call(sa, "GET", "/api/v1/namespaces/other/pods").status, 403u);
  const json::object list = body_of(call(admin, "GET", "/apis/rbac.authorization.k8s.io/v1/rolebindings"));
  EXPECT_EQ(list.at("kind").as_string(), "RoleBindingList");
  // roleRef cannot change; rules can.
  json::object moved = body_of(created);
  moved["roleRef"].as_object()["name"] = "other";
  const Reply refused = call(admin, "PUT", bindings + "/pods", moved);
  EXPECT_EQ(refused.status, 422u);
  EXPECT_NE(body_of(refused).at("message").as_string().find("cannot change roleRef"), std::string::npos);
  json::object narrower = body_of(call(admin, "GET", roles + "/pods"));
  narrower["rules"].as_array()[0].as_object()["verbs"] = json::array{"get"};
  ASSERT_EQ(call(admin, "PUT", roles + "/pods", narrower).status, 200u);
  EXPECT_EQ(call(sa, "GET", "/api/v1/namespaces/app/pods").status, 403u);
  ASSERT_EQ(call(admin, "DELETE", roles + "/pods").status, 200u);
  const Reply dangling = call(sa, "GET", "/api/v1/namespaces/app/pods/x");
  EXPECT_EQ(dangling.status, 403u);
  EXPECT_NE(body_of(dangling).at("message").as_string().find(
                ": RBAC: role.rbac.authorization.k8s.io \"pods\" not found"),
            std::string::npos)
      << dangling.body;
  // Validation as upstream's.
  json::object bad = role;
  bad["rules"].as_array()[0].as_object().erase("apiGroups");
  const Reply invalid_role = call(admin, "POST", roles, bad);
  EXPECT_EQ(invalid_role.status, 422u);
  EXPECT_NE(body_of(invalid_role).at("message").as_string().find(
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group"),
            std::string::npos);
  json::object url_role = role;
  url_role["rules"] = json::parse(R"([{"nonResourceURLs":["/x"],"verbs":["get"]}])");
  EXPECT_EQ(call(admin, "POST", roles, url_role).status, 422u);
  url_role["kind"] = "ClusterRole";
  EXPECT_EQ(call(admin, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", url_role).status, 201u);
}

TEST_F(KubeApiTest, SelfReviewsAnswerForTheRequester) {
  const Reply whoami = call(sa, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                            std::string(R"({"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"})"));
  ASSERT_EQ(whoami.status, 201u) << whoami.body;
  EXPECT_EQ(body_of(whoami).at("status").at("userInfo").at("username").as_string(), "system:serviceaccount:app:web");
  const auto can = [&](const char* attrs) {
    const Reply r = call(sa, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                         std::string(R"({"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview",
                                         "spec":{"resourceAttributes":)") + attrs + "}}");
    EXPECT_EQ(r.status, 201u) << r.body;
    return body_of(r).at("status").at("allowed").as_bool();
  };
  EXPECT_TRUE(can(R"({"verb":"create","group":"certificates.k8s.io","resource":"certificatesigningrequests"})"));
  EXPECT_FALSE(can(R"({"verb":"create","group":"","resource":"certificatesigningrequests"})"));
  EXPECT_FALSE(can(R"({"verb":"update","group":"certificates.k8s.io","resource":"certificatesigningrequests",
                      "subresource":"approval"})"));
}

TEST_F(KubeApiTest, StatusConditionsNeedTheSignVerbToo) {
  const json::object csr = create(sa, "c1");
  ASSERT_EQ(call(admin, "PUT", csr_url("c1", "approval"), with_condition(csr, "Approved")).status, 200u);
  // update on /status but no "sign": a Failed condition is refused, as a certificate is.
  ASSERT_TRUE(apply_rbac(store, json::parse(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
      "metadata":{"name":"signer"},"rules":[{"apiGroups":["certificates.k8s.io"],
      "resources":["certificatesigningrequests/status"],"verbs":["update"]}]})"), ids, now));
  json::object current = body_of(call(admin, "GET", csr_url("c1")));
  const Reply failed = call(signer, "PUT", csr_url("c1", "status"), with_condition(current, "Failed"));
  EXPECT_EQ(failed.status, 403u);
  EXPECT_NE(body_of(failed).at("message").as_string().find(
                "user not permitted to sign requests with signerName \"distls.io/erlang-dist\""),
            std::string::npos);
  // An update that changes neither conditions nor certificate needs no "sign".
  EXPECT_EQ(call(signer, "PUT", csr_url("c1", "status"), current).status, 200u);
  ASSERT_TRUE(apply_rbac(store, json::parse(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
      "metadata":{"name":"signer"},"rules":[{"apiGroups":["certificates.k8s.io"],
      "resources":["certificatesigningrequests/status"],"verbs":["update"]},
      {"apiGroups":["certificates.k8s.io"],"resources":["signers"],"verbs":["sign"],
       "resourceNames":["distls.io/erlang-dist"]}]})"), ids, now));
  EXPECT_EQ(call(signer, "PUT", csr_url("c1", "status"), with_condition(current, "Failed")).status, 200u);
}

TEST_F(KubeApiTest, DecodingAsGoDoes) {
  const auto message = [](const Reply& r) { return std::string(body_of(r).at("message").as_string()); };
  json::object big = csr_object("big");
  big["spec"].as_object()["expirationSeconds"] = 3'000'000'000LL;
  Reply r = call(sa, "POST", kCsrs, big);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(message(r),
            "CertificateSigningRequest in version \"v1\" cannot be handled as a CertificateSigningRequest: json: "
            "cannot unmarshal number 3000000000 into Go struct field CertificateSigningRequestSpec.spec."
            "expirationSeconds of type int32");
  const json::object csr = create(sa, "c1");
  json::object bad_time = with_condition(csr, "Approved");
  bad_time["status"].as_object()["conditions"].as_array()[0].as_object()["lastUpdateTime"] = "2024-05-01 10:00";
  r = call(admin, "PUT", csr_url("c1", "approval"), bad_time);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(message(r),
            "CertificateSigningRequest in version \"v1\" cannot be handled as a CertificateSigningRequest: parsing "
            "time \"2024-05-01 10:00\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \" 10:00\" as \"T\"");
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/distls/leases";
  r = call(signer, "POST", leases,
           std::string(R"({"metadata":{"name":"l"},"spec":{"holderIdentity":"a","renewTime":"2023-11-14T22:13:20Z"}})"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(message(r).find("cannot parse \"Z\" as \".000000\""), std::string::npos) << message(r);
  r = call(signer, "POST", leases,
           std::string(R"({"metadata":{"name":"l"},"spec":{"leaseDurationSeconds":2147483648}})"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(message(r).find("number 2147483648 into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32"),
            std::string::npos)
      << message(r);
  // A PUT whose body has no name does not name the URL's object (checkName).
  json::object nameless = csr;
  nameless["metadata"].as_object().erase("name");
  r = call(admin, "PUT", csr_url("c1"), nameless);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(message(r), "the name of the object () does not match the name on the URL (c1)");
}

TEST_F(KubeApiTest, StatefulSetsAndPodsAreReadOnly) {
  store.put("statefulsets",
            json::object{{"kind", "StatefulSet"},
                         {"apiVersion", "apps/v1"},
                         {"metadata", json::object{{"name", "web"}, {"namespace", "app"}, {"uid", "sts-uid"}}},
                         {"spec", json::object{{"serviceName", "web-headless"}, {"replicas", 2}}}},
            EventType::added);
  const Reply got = call(admin, "GET", "/apis/apps/v1/namespaces/app/statefulsets/web");
  ASSERT_EQ(got.status, 200u);
  EXPECT_EQ(string_at(body_of(got), {"spec", "serviceName"}), "web-headless");
  EXPECT_EQ(body_of(call(admin, "GET", "/apis/apps/v1/statefulsets")).at("items").as_array().size(), 1u);
  EXPECT_EQ(call(admin, "POST", "/apis/apps/v1/namespaces/app/statefulsets", std::string("{}")).status, 405u);
  EXPECT_EQ(call(signer, "GET", "/apis/apps/v1/namespaces/app/statefulsets/web").status, 403u);
  EXPECT_EQ(call(admin, "GET", "/apis/apps/v1/statefulsets/web").status, 404u);
}

TEST_F(KubeApiTest, EventsAsKubectlDescribeFindsThem) {
  const json::object csr = create(sa, "c1");
  const std::string uid = string_at(csr, {"metadata", "uid"});
  const auto event = [&](const std::string& involved_ns) {
    json::object involved{{"kind", "CertificateSigningRequest"},
                          {"name", "c1"},
                          {"uid", uid},
                          {"apiVersion", "certificates.k8s.io/v1"}};
    if (!involved_ns.empty()) involved["namespace"] = involved_ns;
    return json::object{{"apiVersion", "v1"},
                        {"kind", "Event"},
                        {"metadata", json::object{{"generateName", "c1."}}},
                        {"involvedObject", std::move(involved)},
                        {"reason", "DistlsPodVerified"},
                        {"message", "pod web-0 runs as web"},
                        {"type", "Normal"},
                        {"source", json::object{{"component", "distls-signer"}}},
                        {"firstTimestamp", "2023-11-14T22:13:20Z"},
                        {"lastTimestamp", "2023-11-14T22:13:20Z"},
                        {"count", 1}};
  };
  const Reply created = call(admin, "POST", "/api/v1/namespaces/default/events", event(""));
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(string_at(body_of(created), {"metadata", "namespace"}), "default");
  // A cluster-scoped object's event in another namespace is refused.
  const Reply elsewhere = call(admin, "POST", "/api/v1/namespaces/app/events", event(""));
  EXPECT_EQ(elsewhere.status, 422u);
  EXPECT_NE(body_of(elsewhere).at("message").as_string().find("involvedObject.namespace"), std::string::npos);
  // What kubectl describe csr c1 asks (all namespaces, by involved object).
  const json::object found = body_of(call(
      admin, "GET",
      "/api/v1/events?fieldSelector=involvedObject.name%3Dc1%2CinvolvedObject.namespace%3D%2CinvolvedObject.kind%"
      "3DCertificateSigningRequest%2CinvolvedObject.uid%3D" + uid + "&limit=500"));
  EXPECT_EQ(found.at("kind").as_string(), "EventList");
  ASSERT_EQ(found.at("items").as_array().size(), 1u);
  EXPECT_EQ(found.at("items").at(0).at("reason").as_string(), "DistlsPodVerified");
  EXPECT_EQ(body_of(call(admin, "GET", "/api/v1/events?fieldSelector=source%3Dother")).at("items").as_array().size(),
            0u);
  EXPECT_EQ(call(admin, "GET", "/api/v1/events?fieldSelector=spec.x%3Dy").status, 400u);
  // Nobody records events without a grant.
  EXPECT_EQ(call(signer, "POST", "/api/v1/namespaces/default/events", event("")).status, 403u);
}

TEST(MergePatch, Rfc7386) {
  const json::value target = json::parse(R"({"a":"b","c":{"d":"e","f":"g"}})");
  const json::value patch = json::parse(R"({"a":"z","c":{"f":null},"n":[1]})");
  EXPECT_EQ(merge_patch(target, patch), json::parse(R"({"a":"z","c":{"d":"e"},"n":[1]})"));
}

}  // namespace
}  // namespace distls::k8s_double
