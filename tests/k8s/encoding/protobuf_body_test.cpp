#include "tests/k8s/encoding/protobuf_body.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "tests/k8s/encoding/base64.hpp"
#include "tests/k8s/encoding/json_util.hpp"

namespace distls::k8s_double {
namespace {

namespace json = boost::json;

// Just enough of a protobuf writer to build what client-go sends.
std::string varint(std::uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
  return s;
}
std::string bytes_field(std::uint32_t n, std::string_view v) {
  return varint(n << 3 | 2) + varint(v.size()) + std::string(v);
}
std::string varint_field(std::uint32_t n, std::uint64_t v) { return varint(n << 3) + varint(v); }

std::string envelope(std::string_view kind, std::string_view api_version, std::string_view raw) {
  const std::string type_meta = bytes_field(1, api_version) + bytes_field(2, kind);
  return std::string("k8s\0", 4) + bytes_field(1, type_meta) + bytes_field(2, raw) + bytes_field(3, "") +
         bytes_field(4, "");
}

TEST(ProtobufBody, CertificateSigningRequestAsKubectlSendsIt) {
  const std::string time = varint_field(1, 1'700'000'000);
  const std::string meta = bytes_field(1, "c1") + bytes_field(2, "") + bytes_field(5, "uid-1") +
                           bytes_field(6, "1005") + varint_field(7, 0) + bytes_field(8, time) +
                           bytes_field(11, bytes_field(1, "team") + bytes_field(2, "dist"));
  const std::string spec = bytes_field(1, "PEM") + bytes_field(2, "system:serviceaccount:a:b") +
                           bytes_field(3, "") + bytes_field(4, "g1") + bytes_field(4, "g2") +
                           bytes_field(5, "client auth") +
                           bytes_field(6, bytes_field(1, "k") + bytes_field(2, bytes_field(1, "v"))) +
                           bytes_field(7, "distls.io/erlang-dist") + varint_field(8, 3600);
  const std::string condition = bytes_field(1, "Approved") + bytes_field(2, "KubectlApprove") +
                                bytes_field(3, "ok") + bytes_field(4, "") + bytes_field(5, "") +
                                bytes_field(6, "True");
  const std::string status = bytes_field(1, condition);
  const std::string csr = bytes_field(1, meta) + bytes_field(2, spec) + bytes_field(3, status);

  auto r = csr_from_protobuf(envelope("CertificateSigningRequest", "certificates.k8s.io/v1", csr));
  ASSERT_TRUE(r) << r.error().message;
  const json::object& o = *r;
  EXPECT_EQ(name_of(o), "c1");
  EXPECT_EQ(string_at(o, {"metadata", "resourceVersion"}), "1005");
  EXPECT_EQ(string_at(o, {"metadata", "creationTimestamp"}), "2023-11-14T22:13:20Z");
  EXPECT_FALSE(o.at("metadata").as_object().contains("generateName"));  // empty is omitted
  EXPECT_FALSE(o.at("metadata").as_object().contains("generation"));
  EXPECT_EQ(labels_of(o).at("team"), "dist");
  EXPECT_EQ(string_at(o, {"spec", "request"}), base64_encode("PEM"));
  EXPECT_EQ(string_at(o, {"spec", "signerName"}), "distls.io/erlang-dist");
  EXPECT_EQ(o.at("spec").at("expirationSeconds").as_int64(), 3600);
  EXPECT_EQ(o.at("spec").at("groups").as_array().size(), 2u);
  EXPECT_EQ(o.at("spec").at("extra").at("k").as_array().at(0).as_string(), "v");
  const auto& c = o.at("status").at("conditions").as_array().at(0).as_object();
  EXPECT_EQ(c.at("type").as_string(), "Approved");
  EXPECT_EQ(c.at("status").as_string(), "True");
  EXPECT_FALSE(c.contains("lastUpdateTime"));  // zero time: left for the server to fill
}

TEST(ProtobufBody, RefusesOtherKindsAndGarbage) {
  EXPECT_FALSE(csr_from_protobuf(envelope("Pod", "v1", "")));
  EXPECT_FALSE(csr_from_protobuf("{\"kind\":\"CertificateSigningRequest\"}"));
  EXPECT_FALSE(csr_from_protobuf(std::string("k8s\0", 4) + "\x0a\xff"));
  const auto r = csr_from_protobuf(
      envelope("CertificateSigningRequest", "certificates.k8s.io/v1", std::string("\x12\x05") + "ab"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, 400u);
}

TEST(ProtobufBody, DeleteOptionsPreconditions) {
  const std::string pre = bytes_field(1, "uid-1") + bytes_field(2, "42");
  auto r = delete_options_from_protobuf(envelope("DeleteOptions", "meta.k8s.io/v1", bytes_field(2, pre)));
  ASSERT_TRUE(r);
  EXPECT_EQ(string_at(*r, {"preconditions", "uid"}), "uid-1");
  EXPECT_EQ(string_at(*r, {"preconditions", "resourceVersion"}), "42");
}

TEST(ProtobufBody, SelfSubjectAccessReviewAsKubectlAuthCanISendsIt) {
  const std::string attrs = bytes_field(1, "app") + bytes_field(2, "list") + bytes_field(3, "") +
                            bytes_field(5, "pods") + bytes_field(6, "") + bytes_field(7, "");
  const std::string spec = bytes_field(1, attrs);
  auto review = access_review_from_protobuf(
      envelope("SelfSubjectAccessReview", "authorization.k8s.io/v1", bytes_field(1, "") + bytes_field(2, spec)));
  ASSERT_TRUE(review) << review.error().message;
  EXPECT_EQ((*review).at("spec"),
            json::parse(R"({"resourceAttributes":{"namespace":"app","verb":"list","resource":"pods"}})"));
  const std::string non_resource = bytes_field(2, bytes_field(1, "/apis") + bytes_field(2, "get"));
  review = access_review_from_protobuf(
      envelope("SelfSubjectAccessReview", "authorization.k8s.io/v1", bytes_field(2, non_resource)));
  ASSERT_TRUE(review);
  EXPECT_EQ((*review).at("spec").at("nonResourceAttributes").at("path").as_string(), "/apis");
  EXPECT_FALSE(access_review_from_protobuf(envelope("Pod", "v1", "")));
  EXPECT_FALSE(access_review_from_protobuf(
      envelope("SelfSubjectAccessReview", "authorization.k8s.io/v1", bytes_field(2, "\xff"))));
}

}  // namespace
}  // namespace distls::k8s_double
