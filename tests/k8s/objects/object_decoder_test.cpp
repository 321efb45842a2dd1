#include "tests/k8s/objects/object_decoder.hpp"

#include <gtest/gtest.h>

#include "tests/k8s/encoding/base64.hpp"

namespace distls::k8s_double {
namespace {

Expected<Decoded> decode(const std::string& body, FieldValidation mode = FieldValidation::warn) {
  return decode_object(body, csr_schema(), "CertificateSigningRequest", "certificates.k8s.io/v1", mode);
}

TEST(Base64, RoundTripAndGoErrors) {
  for (const std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_decode("Zm9v\nYmFy\r\n"), "foobar");
  std::size_t bad = 0;
  EXPECT_FALSE(base64_decode("Zm9v!", &bad));
  EXPECT_EQ(bad, 4u);
  EXPECT_FALSE(base64_decode("Zm9vYg", &bad));  // padding required
  EXPECT_FALSE(base64_decode("Zg==Zg==", &bad));
}

TEST(ObjectDecoder, KeepsKnownFieldsAndDropsNulls) {
  auto d =
      decode(R"({"metadata":{"name":"a","labels":null},"spec":{"signerName":"x.io/y","usages":["any"]}})");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_FALSE(d->object.at("metadata").as_object().contains("labels"));
  EXPECT_TRUE(d->warnings.empty());
}

TEST(ObjectDecoder, UnknownFieldsFollowFieldValidation) {
  const std::string body =
      R"({"metadata":{"name":"a"},"spec":{"signerName":"x.io/y","colour":"red"},"extra":1})";
  auto warn = decode(body);
  ASSERT_TRUE(warn);
  // In the order they appear in the body, as Go's decoder meets them.
  EXPECT_EQ(warn->warnings,
            (std::vector<std::string>{"unknown field \"spec.colour\"", "unknown field \"extra\""}));
  EXPECT_FALSE(warn->object.contains("extra"));
  auto strict = decode(body, FieldValidation::strict);
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code, 400u);
  EXPECT_EQ(strict.error().message,
            "strict decoding error: unknown field \"spec.colour\", unknown field \"extra\"");
  auto ignore = decode(body, FieldValidation::ignore);
  ASSERT_TRUE(ignore);
  EXPECT_TRUE(ignore->warnings.empty());
}

TEST(ObjectDecoder, TypeErrorsAndBadBase64AreBadRequests) {
  auto t = decode(R"({"spec":{"signerName":5}})");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, 400u);
  EXPECT_NE(t.error().message.find("cannot unmarshal number into Go struct field "
                                   "CertificateSigningRequestSpec.spec.signerName of type string"),
            std::string::npos)
      << t.error().message;
  auto b = decode(R"({"spec":{"request":"@@@@"}})");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("illegal base64 data at input byte 0"), std::string::npos);
  EXPECT_FALSE(decode(R"({"spec":{"expirationSeconds":3600.5}})"));
  EXPECT_FALSE(decode("[1]"));
  EXPECT_FALSE(decode("{"));
}

TEST(ObjectDecoder, KindAndApiVersionMustMatchWhenGiven) {
  EXPECT_TRUE(decode(R"({"kind":"CertificateSigningRequest","apiVersion":"certificates.k8s.io/v1"})"));
  EXPECT_TRUE(decode("{}"));
  EXPECT_FALSE(decode(R"({"kind":"Pod"})"));
  EXPECT_FALSE(decode(R"({"apiVersion":"certificates.k8s.io/v1beta1"})"));
}

}  // namespace
}  // namespace distls::k8s_double
