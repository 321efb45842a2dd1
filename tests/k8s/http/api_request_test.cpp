#include "tests/k8s/http/api_request.hpp"

#include <gtest/gtest.h>

#include "tests/k8s/control/options.hpp"
#include "tests/k8s/control/state_dir.hpp"

namespace distls::k8s_double {
namespace {

TEST(ParseTarget, DecodesPathAndQuery) {
  auto r = parse_target("GET",
                        "/api/v1/namespaces/app/pods?fieldSelector=status.podIP%3D10.0.0.5&limit=500&watch");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/api/v1/namespaces/app/pods");
  EXPECT_EQ(r->segments, (std::vector<std::string>{"api", "v1", "namespaces", "app", "pods"}));
  EXPECT_EQ(r->param("fieldSelector"), "status.podIP=10.0.0.5");
  EXPECT_EQ(r->param("limit"), "500");
  EXPECT_TRUE(r->has_param("watch"));
  EXPECT_FALSE(r->flag("watch"));
  EXPECT_FALSE(parse_target("GET", "http://host/x"));
}

TEST(Negotiate, TablesAndJson) {
  auto n = negotiate(
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
      "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json");
  EXPECT_TRUE(n.table);
  EXPECT_EQ(n.table_version, "v1");
  EXPECT_TRUE(n.json);
  n = negotiate("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json");
  EXPECT_FALSE(n.table);
  EXPECT_TRUE(n.json);
  EXPECT_TRUE(negotiate("").json);
  EXPECT_TRUE(negotiate("*/*").json);
  EXPECT_FALSE(negotiate("application/vnd.kubernetes.protobuf").json);
}

TEST(Options, ParsesAndRejects) {
  auto p = parse_options({"--state-dir", "/tmp/x", "--listen", "127.0.0.1:0", "--token",
                          "t=system:serviceaccount:a:b", "--history=10", "--watch-timeout", "5m"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->history, 10u);
  EXPECT_EQ(p.options->watch_timeout, std::chrono::minutes(5));
  EXPECT_EQ(p.options->tokens.at(0).user, "system:serviceaccount:a:b");
  EXPECT_EQ(parse_options({"--listen", "127.0.0.1:0"}).error, "--state-dir: required");
  EXPECT_NE(parse_options({"--state-dir", "d", "--listen", "nope"}).error, "");
  EXPECT_NE(parse_options({"--state-dir", "d", "--tls-cert", "c"}).error, "");
  EXPECT_NE(parse_options({"--state-dir", "d", "--bogus", "1"}).error, "");
  EXPECT_TRUE(parse_options({"--help"}).help);
}

TEST(Kubeconfig, NamesServerCaAndToken) {
  const std::string k = kubeconfig_yaml("https://127.0.0.1:1234", "PEM", "system:serviceaccount:a:b", "tok");
  EXPECT_NE(k.find("    server: https://127.0.0.1:1234\n"), std::string::npos);
  EXPECT_NE(k.find("certificate-authority-data: UEVN\n"), std::string::npos);
  EXPECT_NE(k.find("    token: tok\n"), std::string::npos);
  EXPECT_NE(k.find("- name: \"system:serviceaccount:a:b\""), std::string::npos);
  EXPECT_NE(k.find("current-context: k8s-api-double"), std::string::npos);
}

}  // namespace
}  // namespace distls::k8s_double
