#include "distls/util/json_pointer.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace json = boost::json;
namespace jsonp = distls::jsonp;

namespace {

const json::value kObject = json::parse(R"({
  "metadata": {"name": "csr-1", "resourceVersion": "42"},
  "spec": {"expirationSeconds": 3600, "big": 18446744073709551615, "usages": ["client auth"],
           "extra": {"authentication.kubernetes.io/pod-name": ["app-0"], "a~b": ["x"]},
           "hostNetwork": true, "notBool": "true"}
})");

}  // namespace

TEST(JsonPointer, WhatIsThereIsFound) {
  EXPECT_EQ(jsonp::text(kObject, "/metadata/name"), "csr-1");
  EXPECT_EQ(jsonp::integer(kObject, "/spec/expirationSeconds"), 3600);
  ASSERT_NE(jsonp::array(kObject, "/spec/usages"), nullptr);
  EXPECT_EQ(jsonp::array(kObject, "/spec/usages")->size(), 1u);
  EXPECT_TRUE(jsonp::flag(kObject, "/spec/hostNetwork"));
}

TEST(JsonPointer, AbsentOrOfAnotherTypeIsNotThereNeverAnException) {
  EXPECT_EQ(jsonp::text(kObject, "/metadata/uid"), "");
  EXPECT_EQ(jsonp::text(kObject, "/spec/expirationSeconds"), "");
  EXPECT_EQ(jsonp::integer(kObject, "/metadata/name"), std::nullopt);
  EXPECT_EQ(jsonp::integer(kObject, "/spec/big"), std::nullopt);  // does not fit int64
  EXPECT_EQ(jsonp::array(kObject, "/spec"), nullptr);
  EXPECT_FALSE(jsonp::flag(kObject, "/spec/notBool"));
  EXPECT_EQ(jsonp::text(kObject, "/spec/usages/7"), "");
  EXPECT_EQ(jsonp::text(kObject, "no leading slash"), "");
  EXPECT_EQ(jsonp::text(json::value(nullptr), "/metadata/name"), "");
  EXPECT_EQ(jsonp::text(json::value("a string"), "/0"), "");
}

TEST(JsonPointer, KeysWithSlashOrTildeAreEscapedAsRfc6901Says) {
  EXPECT_EQ(jsonp::token("authentication.kubernetes.io/pod-name"), "/authentication.kubernetes.io~1pod-name");
  EXPECT_EQ(jsonp::token("a~b"), "/a~0b");
  const auto* pod = jsonp::array(kObject, "/spec/extra" + jsonp::token("authentication.kubernetes.io/pod-name"));
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(jsonp::text(pod->front(), ""), "app-0");
  EXPECT_NE(jsonp::array(kObject, "/spec/extra" + jsonp::token("a~b")), nullptr);
}
