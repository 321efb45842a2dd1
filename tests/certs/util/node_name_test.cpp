#include "distls/util/node_name.hpp"

#include <gtest/gtest.h>

namespace distls {
namespace {

TEST(NodeName, Parses) {
  auto n = parse_node_name("app@10.0.0.5");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->alive, "app");
  EXPECT_EQ(n->host, "10.0.0.5");
  EXPECT_TRUE(n->host_is_ip);
  EXPECT_EQ(n->full(), "app@10.0.0.5");

  n = parse_node_name("app@App-0.App.NS.svc.cluster.local");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->host, "app-0.app.ns.svc.cluster.local");
  EXPECT_FALSE(n->host_is_ip);

  n = parse_node_name("app@[fd00::5]");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->host, "fd00::5");
  EXPECT_TRUE(n->host_is_ip);
  EXPECT_TRUE(parse_node_name("app@fd00::5"));
}

TEST(NodeName, Rejects) {
  for (const char* bad : {"", "app", "@host", "app@", "app@host@x", "a pp@host", "app@-host", "app@host-",
                          "app@ho st", "app@a..b", "app@.a", "app@a.", "app@[fd00::5", "app@x/y"})
    EXPECT_FALSE(parse_node_name(bad)) << bad;
  EXPECT_FALSE(parse_node_name("app@" + std::string(64, 'a') + ".com"));  // label > 63
  EXPECT_FALSE(parse_node_name(std::string(200, 'a') + "@" + std::string(60, 'b')));  // > 255 bytes
}

TEST(NodeName, Alive) {
  EXPECT_TRUE(valid_alive("app"));
  EXPECT_TRUE(valid_alive("my_app-1"));
  EXPECT_FALSE(valid_alive(""));
  EXPECT_FALSE(valid_alive("a@b"));
  EXPECT_FALSE(valid_alive("a b"));
  EXPECT_FALSE(valid_alive(std::string(256, 'a')));
}

}  // namespace
}  // namespace distls
