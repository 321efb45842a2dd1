#include "tests/k8s/objects/csr_strategy.hpp"

#include <gtest/gtest.h>

#include "tests/k8s/k8s_test_support.hpp"

namespace distls::k8s_double {
namespace {

using test::csr_object;
using test::with_condition;
namespace json = boost::json;

const auto kNow = std::chrono::system_clock::from_time_t(1'700'000'000);

UserInfo requester() {
  return {"system:serviceaccount:app:web",
          "uid-1",
          {"system:serviceaccounts", "system:serviceaccounts:app", "system:authenticated"},
          {}};
}

std::vector<std::string> fields_of(const ApiError& e) {
  std::vector<std::string> out;
  if (const auto* causes = e.details.if_contains("causes"))
    for (const auto& c : causes->as_array()) out.emplace_back(c.as_object().at("field").as_string());
  return out;
}

json::object created(json::object in = csr_object("c1")) {
  IdSource ids(1);
  auto r = csr_for_create(std::move(in), requester(), ids, kNow);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : json::object{};
}

ApiError create_error(json::object in) {
  IdSource ids(1);
  auto r = csr_for_create(std::move(in), requester(), ids, kNow);
  EXPECT_FALSE(r);
  return r ? ApiError{} : r.error();
}

TEST(CsrCreate, RequesterComesFromAuthenticationNotTheBody) {
  json::object in = csr_object("c1");
  in["spec"].as_object()["username"] = "system:admin";
  in["spec"].as_object()["groups"] = json::array{"system:masters"};
  in["status"] = with_condition(json::object{}, "Approved")["status"];  // no pre-approval either
  const json::object csr = created(in);
  EXPECT_EQ(string_at(csr, {"spec", "username"}), "system:serviceaccount:app:web");
  EXPECT_EQ(string_at(csr, {"spec", "uid"}), "uid-1");
  EXPECT_EQ(csr.at("spec").at("groups").as_array().size(), 3u);
  EXPECT_TRUE(csr.at("status").as_object().empty());
  EXPECT_FALSE(string_at(csr, {"metadata", "uid"}).empty());
  EXPECT_EQ(string_at(csr, {"metadata", "creationTimestamp"}), "2023-11-14T22:13:20Z");
}

TEST(CsrCreate, GenerateNameGetsARandomSuffix) {
  json::object in = csr_object("");
  in["metadata"].as_object()["generateName"] = "distls-";
  const std::string name = name_of(created(in));
  EXPECT_EQ(name.size(), 7 + 5u);
  EXPECT_EQ(name.rfind("distls-", 0), 0u);
}

TEST(CsrCreate, NameOrGenerateNameIsRequired) {
  const ApiError e = create_error(csr_object(""));
  EXPECT_EQ(e.code, 422u);
  EXPECT_EQ(fields_of(e), std::vector<std::string>{"metadata.name"});
}

TEST(CsrCreate, SignerNameMustBeDomainSlashPath) {
  for (const char* bad :
       {"", "nodomain", "example/path", "a.io/b/c", "Example.com/x", "example.com/Bad_Path"}) {
    json::object in = csr_object("c1", bad);
    const ApiError e = create_error(in);
    EXPECT_EQ(e.code, 422u) << bad;
    EXPECT_EQ(e.reason, "Invalid");
    EXPECT_EQ(fields_of(e).at(0), "spec.signerName") << bad << ": " << e.message;
  }
  EXPECT_EQ(create_error(csr_object("c1", "kubernetes.io/legacy-unknown")).code, 422u);
  created(csr_object("c1", "issuers.cert-manager.io/ns.name"));
}

TEST(CsrCreate, ExpirationSecondsAtLeastTenMinutes) {
  json::object in = csr_object("c1");
  in["spec"].as_object()["expirationSeconds"] = 599;
  const ApiError e = create_error(in);
  EXPECT_EQ(e.message,
            "CertificateSigningRequest.certificates.k8s.io \"c1\" is invalid: spec.expirationSeconds: "
            "Invalid value: "
            "599: may not specify a duration less than 600 seconds (10 minutes)");
  in["spec"].as_object()["expirationSeconds"] = 600;
  created(in);
  in["spec"].as_object().erase("expirationSeconds");
  created(in);
}

TEST(CsrCreate, UsagesRequiredKnownAndUnique) {
  json::object in = csr_object("c1");
  in["spec"].as_object().erase("usages");
  EXPECT_EQ(fields_of(create_error(in)), std::vector<std::string>{"spec.usages"});
  in["spec"].as_object()["usages"] = json::array{"server auth", "frobnicate", "server auth"};
  EXPECT_EQ(fields_of(create_error(in)), (std::vector<std::string>{"spec.usages[1]", "spec.usages[2]"}));
}

TEST(CsrCreate, RequestMustBeAPemCsrWithAValidSignature) {
  json::object in = csr_object("c1");
  in["spec"].as_object()["request"] = base64_encode(test::cert_pem());
  ApiError e = create_error(in);
  EXPECT_NE(e.message.find("PEM block type must be CERTIFICATE REQUEST"), std::string::npos) << e.message;

  // Flip a byte inside the signature: parses, does not verify.
  std::string pem = test::csr_pem();
  auto req_b64 = pem.substr(pem.find('\n') + 1);
  const auto der = base64_decode([&] {
    std::string body;
    for (char c : req_b64.substr(0, req_b64.find("-----")))
      if (c != '\n') body += c;
    return body;
  }());
  ASSERT_TRUE(der);
  std::string tampered = *der;
  tampered[tampered.size() - 5] ^= 0x01;
  const std::string bad_pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + base64_encode(tampered) +
                              "\n-----END CERTIFICATE REQUEST-----\n";
  in["spec"].as_object()["request"] = base64_encode(bad_pem);
  e = create_error(in);
  EXPECT_EQ(fields_of(e), std::vector<std::string>{"spec.request"});
}

TEST(CsrApproval, AddsTheConditionWithTimestampsAndKeepsSpec) {
  const json::object old = created();
  json::object next = with_condition(old, "Approved");
  next["spec"].as_object()["signerName"] = "evil.io/other";  // ignored on /approval
  auto r = csr_for_update(CsrUpdate::approval, next, old, kNow + std::chrono::seconds(5));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(string_at(*r, {"spec", "signerName"}), "distls.io/erlang-dist");
  const auto& c = r->at("status").at("conditions").as_array().at(0).as_object();
  EXPECT_EQ(c.at("type").as_string(), "Approved");
  EXPECT_EQ(c.at("lastUpdateTime").as_string(), "2023-11-14T22:13:25Z");
  EXPECT_EQ(c.at("lastTransitionTime").as_string(), "2023-11-14T22:13:25Z");
}

TEST(CsrApproval, ApprovedAndDeniedAreMutuallyExclusive) {
  const json::object old = created();
  auto r = csr_for_update(CsrUpdate::approval, with_condition(with_condition(old, "Approved"), "Denied"), old,
                          kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, 422u);
  EXPECT_NE(r.error().message.find("Approved and Denied conditions are mutually exclusive"),
            std::string::npos);
}

TEST(CsrApproval, ConditionsCannotBeRemovedOrBeOtherThanTrue) {
  const json::object old = created();
  auto approved = csr_for_update(CsrUpdate::approval, with_condition(old, "Approved"), old, kNow);
  ASSERT_TRUE(approved);
  auto removed = csr_for_update(CsrUpdate::approval, old, *approved, kNow);
  ASSERT_FALSE(removed);
  EXPECT_NE(removed.error().message.find("updates may not remove a condition of type \"Approved\""),
            std::string::npos);
  json::object falsy = with_condition(old, "Approved");
  falsy["status"].as_object()["conditions"].as_array()[0].as_object()["status"] = "False";
  EXPECT_FALSE(csr_for_update(CsrUpdate::approval, falsy, old, kNow));
}

TEST(CsrApproval, CertificateCannotBeSetThroughApproval) {
  const json::object old = created();
  json::object next = with_condition(old, "Approved");
  next["status"].as_object()["certificate"] = base64_encode(test::cert_pem());
  auto r = csr_for_update(CsrUpdate::approval, next, old, kNow);
  ASSERT_TRUE(r);  // status.certificate is reset from storage, not refused
  EXPECT_EQ(string_at(*r, {"status", "certificate"}), "");
}

TEST(CsrStatus, SetsTheCertificateOnceAndOnlyValidPem) {
  const json::object old =
      *csr_for_update(CsrUpdate::approval, with_condition(created(), "Approved"), created(), kNow);
  json::object next = old;
  next["status"].as_object()["certificate"] = base64_encode(test::cert_pem());
  auto issued = csr_for_update(CsrUpdate::status, next, old, kNow);
  ASSERT_TRUE(issued) << issued.error().message;

  json::object again = *issued;
  again["status"].as_object()["certificate"] = base64_encode(test::cert_pem());
  auto changed = csr_for_update(CsrUpdate::status, again, *issued, kNow);
  ASSERT_FALSE(changed);
  EXPECT_NE(changed.error().message.find("updates may not modify existing certificate content"),
            std::string::npos);

  json::object garbage = old;
  garbage["status"].as_object()["certificate"] = base64_encode("not pem");
  auto bad = csr_for_update(CsrUpdate::status, garbage, old, kNow);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("must contain at least one CERTIFICATE PEM block"), std::string::npos);
}

TEST(CsrStatus, ApprovalConditionsCannotBeAddedThroughStatus) {
  const json::object old = created();
  auto r = csr_for_update(CsrUpdate::status, with_condition(old, "Approved"), old, kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("updates may not add a condition of type \"Approved\""),
            std::string::npos);
  auto failed = csr_for_update(CsrUpdate::status, with_condition(old, "Failed"), old, kNow);
  EXPECT_TRUE(failed) << failed.error().message;
}

TEST(CsrUpdate, MainResourceKeepsSpecAndStatusButTakesLabels) {
  const json::object old = created();
  json::object next = with_condition(old, "Approved");
  next["metadata"].as_object()["labels"] = json::object{{"team", "dist"}};
  next["spec"].as_object()["usages"] = json::array{"any"};
  auto r = csr_for_update(CsrUpdate::object, next, old, kNow);
  ASSERT_TRUE(r);
  EXPECT_EQ(labels_of(*r).at("team"), "dist");
  EXPECT_EQ(r->at("spec").at("usages").as_array().size(), 3u);
  EXPECT_TRUE(r->at("status").as_object().empty());
}

}  // namespace
}  // namespace distls::k8s_double
