#include "tests/k8s/objects/object_strategy.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace distls::k8s_double {
namespace {

namespace json = boost::json;

TEST(ConfigMapValidation, KeysAndImmutability) {
  auto cm = [](json::object data, bool immutable = false) {
    json::object o{{"metadata", json::object{{"name", "distls-trust"}, {"namespace", "app"}}}, {"data", std::move(data)}};
    if (immutable) o["immutable"] = true;
    return o;
  };
  EXPECT_TRUE(validate_configmap(cm({{"ca.crt", "PEM"}}), nullptr).empty());
  EXPECT_EQ(validate_configmap(cm({{"a/b", "x"}}), nullptr).size(), 1u);
  EXPECT_EQ(validate_configmap(cm({{"..", "x"}}), nullptr).size(), 1u);
  auto both = cm({{"k", "x"}});
  both["binaryData"] = json::object{{"k", "eA=="}};
  EXPECT_EQ(validate_configmap(both, nullptr).size(), 1u) << "a key in data and binaryData";
  const auto frozen = cm({{"ca.crt", "old"}}, true);
  EXPECT_TRUE(validate_configmap(frozen, &frozen).empty());
  EXPECT_FALSE(validate_configmap(cm({{"ca.crt", "new"}}, true), &frozen).empty());
  EXPECT_FALSE(validate_configmap(cm({{"ca.crt", "old"}}), &frozen).empty()) << "immutable cannot be unset";
  const auto mutable_old = cm({{"ca.crt", "old"}});
  EXPECT_TRUE(validate_configmap(cm({{"ca.crt", "new"}}), &mutable_old).empty());
}

}  // namespace
}  // namespace distls::k8s_double
