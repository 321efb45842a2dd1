#include "distls/discovery/discovery.hpp"

#include <gtest/gtest.h>

namespace distls {
namespace {

TEST(Discovery, ParsesSpecs) {
  auto s = parse_discovery("static:app@10.0.0.5,app@Host.Example");
  EXPECT_EQ(s.kind, DiscoveryConfig::Kind::static_list);
  EXPECT_EQ(s.static_nodes, (std::vector<std::string>{"app@10.0.0.5", "app@host.example"}));
  s = parse_discovery("dns-a:app-headless.ns.svc.cluster.local");
  EXPECT_EQ(s.kind, DiscoveryConfig::Kind::dns_a);
  EXPECT_EQ(s.name, "app-headless.ns.svc.cluster.local");
  EXPECT_EQ(parse_discovery("dns-srv:_erlang._tcp.app").kind, DiscoveryConfig::Kind::dns_srv);
  EXPECT_EQ(parse_discovery("dns-aaaa:app.ns").kind, DiscoveryConfig::Kind::dns_aaaa);
  EXPECT_EQ(parse_discovery("dns:app.ns").kind, DiscoveryConfig::Kind::dns);
  EXPECT_EQ(describe(parse_discovery("dns-aaaa:app.ns")), "dns-aaaa:app.ns");
  for (const char* bad : {"", "dns-a", "dns-a:", "static:app", "static:a@b,,c@d", "dns-a:bad name"})
    EXPECT_THROW(parse_discovery(bad), std::invalid_argument) << bad;
}

TEST(Discovery, NodesFromAnswers) {
  DiscoveryConfig a;
  a.kind = DiscoveryConfig::Kind::dns_a;
  a.basename = "app";
  DnsAnswer ans;
  ans.addresses = {boost::asio::ip::make_address("10.0.0.5"), boost::asio::ip::make_address("10.0.0.6"),
                   boost::asio::ip::make_address("fd00::7")};
  EXPECT_EQ(nodes_from_answer(a, ans, "app@10.0.0.5"), (std::set<std::string>{"app@10.0.0.6", "app@fd00::7"}));

  DiscoveryConfig srv = a;
  srv.kind = DiscoveryConfig::Kind::dns_srv;
  ans.targets = {{"app-0.app.ns.svc", 4370, 0, 0}, {"APP-1.app.ns.svc", 4370, 0, 0}, {"bad host", 1, 0, 0}};
  EXPECT_EQ(nodes_from_answer(srv, ans, "app@app-0.app.ns.svc"), (std::set<std::string>{"app@app-1.app.ns.svc"}));
}

TEST(PeerBook, TracksDiscoveryAndTunnels) {
  PeerBook book;
  auto c = book.set_discovered({"a@h1", "b@h2"});
  EXPECT_EQ(c.added, (std::vector<std::string>{"a@h1", "b@h2"}));
  book.tunnel_opened("b@h2", false);
  book.failed("a@h1", "untrusted_chain");
  c = book.set_discovered({"c@h3"});
  EXPECT_EQ(c.removed, (std::vector<std::string>{"a@h1", "b@h2"}));
  EXPECT_EQ(book.discovered(), (std::vector<std::string>{"c@h3"}));
  // b is connected, so it stays in the book; a is forgotten.
  EXPECT_TRUE(book.all().contains("b@h2"));
  EXPECT_FALSE(book.all().contains("a@h1"));
  EXPECT_EQ(book.all().at("b@h2").tunnels_out, 1);
  book.tunnel_closed("b@h2", false);
  book.set_discovered({"c@h3"});
  EXPECT_FALSE(book.all().contains("b@h2"));
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

// A certificate holder may claim any node name in send_name; each refusal files a failure
// under that name. The book keeps such names boundedly, in count and in time.
TEST(PeerBook, ClaimedNamesAreBoundedInCountAndTime) {
  PeerBook book;
  book.set_discovered({"app@10.0.0.6"});
  book.tunnel_opened("app@10.0.0.7", true);
  const auto t0 = std::chrono::system_clock::now();
  for (int i = 0; i < 10000; ++i)
    book.failed("made-up-" + std::to_string(i) + "@10.0.0.66", "name_mismatch", t0 + std::chrono::milliseconds(i));
  EXPECT_LE(book.all().size(), PeerBook::kMaxInactive + 2);
  EXPECT_TRUE(book.all().contains("made-up-9999@10.0.0.66")) << "the newest stay";
  EXPECT_FALSE(book.all().contains("made-up-0@10.0.0.66")) << "the oldest go";
  EXPECT_TRUE(book.all().contains("app@10.0.0.6")) << "discovered peers are never evicted";
  EXPECT_TRUE(book.all().contains("app@10.0.0.7")) << "connected peers are never evicted";
  book.failed("app@10.0.0.6", "untrusted_chain", t0);
  EXPECT_EQ(book.all().at("app@10.0.0.6").failures, 1u);

  // Later, one more failure: everything claimed long ago has gone.
  book.failed("late@10.0.0.66", "name_mismatch", t0 + PeerBook::kInactiveTtl + std::chrono::minutes(1) +
                                                     std::chrono::seconds(10));
  EXPECT_EQ(book.all().size(), 3u);
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

// The certificate binds the host part only: a certificate holder can open tunnels under
// any alive name of its host. Closed tunnels under made-up names are bounded too.
TEST(PeerBook, TunnelsUnderMadeUpNamesAreBoundedOnceClosed) {
  PeerBook book;
  const auto t0 = std::chrono::system_clock::now();
  for (int i = 0; i < 5000; ++i) {
    const auto name = "made-up-" + std::to_string(i) + "@10.0.0.9";
    book.tunnel_opened(name, true, t0 + std::chrono::milliseconds(i));
    book.tunnel_closed(name, true);
  }
  EXPECT_LE(book.all().size(), PeerBook::kMaxInactive + 1);
  EXPECT_TRUE(book.all().contains("made-up-4999@10.0.0.9"));
}

}  // namespace
}  // namespace distls
