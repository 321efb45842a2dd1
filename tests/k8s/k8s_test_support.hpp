// Shared pieces of the double's unit tests: real CSRs and certificates, request builders,
// and a KubeApi wired to an in-memory store with a fixed clock.
#pragma once

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "distls/x509/cert_builder.hpp"
#include "distls/x509/csr.hpp"
#include "distls/x509/pem.hpp"
#include "tests/k8s/encoding/base64.hpp"
#include "tests/k8s/control/control_api.hpp"
#include "tests/k8s/api/kube_api.hpp"
#include "tests/k8s/auth/rbac_bootstrap.hpp"
#include "tests/k8s/auth/token_registry.hpp"

namespace distls::k8s_double::test {

namespace json = boost::json;

inline std::string csr_pem(const std::string& cn = "app@127.0.0.2") {
  auto key = pem::generate_ec_p256();
  auto req = certs::make_csr(key.get(), cn, certs::sans_for_host("127.0.0.2"));
  return certs::csr_to_pem(req.get());
}

// A self-signed certificate as a signer would put in status.certificate.
inline std::string cert_pem() {
  auto key = pem::generate_ec_p256();
  auto ca = certs::make_self_signed_ca(key.get(), "test", std::chrono::hours(1));
  return pem::cert_to_pem(ca.get());
}

inline json::object csr_object(const std::string& name, const std::string& signer = "distls.io/erlang-dist") {
  json::object meta;
  if (!name.empty()) meta["name"] = name;
  return {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", std::move(meta)},
          {"spec", json::object{{"request", base64_encode(csr_pem())},
                                {"signerName", signer},
                                {"expirationSeconds", 3600},
                                {"usages", json::array{"digital signature", "server auth", "client auth"}}}}};
}

inline ApiRequest request(const std::string& method, const std::string& target,
                          const std::string& body = "") {
  auto r = parse_target(method, target);
  EXPECT_TRUE(r) << target;
  ApiRequest req = *r;
  req.body = body;
  if (!body.empty()) req.content_type = "application/json";
  return req;
}

inline json::object body_of(const Reply& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  EXPECT_FALSE(ec) << r.body;
  return v.is_object() ? v.get_object() : json::object{};
}

inline const char* kCsrs = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

// The RBAC the fixture's users get: service account app/web is a CSR requester (as
// deploy/example's distls-csr-requester), user "signer" approves and signs any
// distls.io signer, reads pods and runs leader election (as deploy/base's distls-signer).
inline json::value fixture_rbac() {
  return json::parse(R"({"kind":"List","items":[
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"requester"},
     "rules":[{"apiGroups":["certificates.k8s.io"],"resources":["certificatesigningrequests"],
               "verbs":["create","get","list","watch"]}]},
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"requester"},
     "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"requester"},
     "subjects":[{"kind":"ServiceAccount","name":"web","namespace":"app"}]},
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"signer"},
     "rules":[{"apiGroups":["certificates.k8s.io"],"resources":["certificatesigningrequests"],"verbs":["get","list","watch"]},
              {"apiGroups":["certificates.k8s.io"],
               "resources":["certificatesigningrequests/approval","certificatesigningrequests/status"],"verbs":["update"]},
              {"apiGroups":["certificates.k8s.io"],"resources":["signers"],"resourceNames":["distls.io/*"],
               "verbs":["approve","sign"]},
              {"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]},
              {"apiGroups":["coordination.k8s.io"],"resources":["leases"],"verbs":["get","create","update"]}]},
    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"signer"},
     "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"signer"},
     "subjects":[{"kind":"User","name":"signer"}]}]})");
}

// A KubeApi over a fresh store with the bootstrap policy and fixture_rbac(), and a clock
// the test moves.
struct ApiFixture {
  ObjectStore store{500};
  IdSource ids{42};
  std::chrono::system_clock::time_point now = std::chrono::system_clock::from_time_t(1'700'000'000);
  bool policy_installed = [this] {
    install_bootstrap_policy(store, ids, now);
    return static_cast<bool>(apply_rbac(store, fixture_rbac(), ids, now));
  }();
  RbacAuthorizer authz{store};
  KubeApi api{store, authz, ids, [this] { return now; }, std::chrono::seconds(1800)};
  TokenRegistry tokens = [this] {
    TokenRegistry t{ids, [this] { return now; }};
    t.set_pod_lookup([this](const std::string& ns, const std::string& name) -> std::optional<std::string> {
      const auto* pod = store.get("pods", ns, name);
      if (pod == nullptr) return std::nullopt;
      return string_at(*pod, {"metadata", "uid"});
    });
    return t;
  }();
  UserInfo admin = tokens.add("admin-token", "admin", {"system:masters"}).user;
  UserInfo sa = tokens.add("sa-token", "system:serviceaccount:app:web", {}).user;
  UserInfo signer = tokens.add("signer-token", "signer", {}).user;

  Reply call(const UserInfo& user, const std::string& method, const std::string& target,
             const std::string& body = "") {
    Outcome o = api.handle(request(method, target, body), user);
    EXPECT_TRUE(std::holds_alternative<Reply>(o)) << method << " " << target << " gave a watch";
    return std::holds_alternative<Reply>(o) ? std::get<Reply>(o) : Reply{};
  }
  Reply call(const UserInfo& user, const std::string& method, const std::string& target,
             const json::object& body) {
    return call(user, method, target, json::serialize(body));
  }
  // Creates a CSR as `user` and returns the stored object.
  json::object create(const UserInfo& user, const std::string& name) {
    Reply r = call(user, "POST", kCsrs, csr_object(name));
    EXPECT_EQ(r.status, 201u) << r.body;
    return body_of(r);
  }
};

// Approved (or Denied) condition appended to a CSR, as `kubectl certificate approve` does.
inline json::object with_condition(json::object csr, const std::string& type) {
  auto& status = csr["status"];
  if (!status.is_object()) status = json::object{};
  auto& conds = status.as_object()["conditions"];
  if (!conds.is_array()) conds = json::array{};
  conds.as_array().push_back(
      json::object{{"type", type}, {"status", "True"}, {"reason", "Test"}, {"message", "by test"}});
  return csr;
}

}  // namespace distls::k8s_double::test
