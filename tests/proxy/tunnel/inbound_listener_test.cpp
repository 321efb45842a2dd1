// The TLS listener peers dial, over real loopback sockets with real TLS in-process:
// every way in (a tunnel to the registered node, as a local TCP acceptor stands in for
// it) and every refusal on the way, each seen as peers and operators see it: the
// connection closed, the reason counted and logged.
#include "distls/tunnel/inbound_listener.hpp"

#include <memory>

#include <stdlib.h>
#include <unistd.h>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "distls/tls/peer_verifier.hpp"
#include "distls/tls/tls_stream.hpp"
#include "tests/proxy/tls_test_support.hpp"

namespace distls {
namespace {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using boost::system::error_code;

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

// A send_name frame ('N' form) claiming `name`, length prefix included.
std::string send_name(const std::string& name) {
  std::string body = std::string("N\0\0\0\x01\0\0\0\x0d\x12\x34\x56\x78", 13);
  body += static_cast<char>(name.size() >> 8);
  body += static_cast<char>(name.size() & 0xff);
  body += name;
  return std::string{static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xff)} + body;
}

// A client certificate naming `host` and carrying the URI SAN `uri`.
std::shared_ptr<const TlsContext> tls_with_uri(const test::TestCa& ca, const std::string& host, const std::string& uri) {
  Identity id;
  id.key = pem::generate_ec_p256();
  certs::LeafSpec spec;
  spec.common_name = "app@" + host;
  spec.sans = certs::sans_for_host(host);
  spec.sans.uris = {uri};
  spec.ttl = std::chrono::hours(1);
  id.chain.push_back(certs::sign_leaf(spec, id.key.get(), ca.cert.get(), ca.key.get()));
  id.trust.push_back(ossl::share(ca.cert.get()));
  return TlsContext::build(id, TlsOptions{});
}

// What a dialling peer saw. Shared with its coroutine, which may outlive a failed check.
struct Dial {
  bool connected = false;
  error_code handshake;          // the client's TLS handshake
  bool closed_by_server = false;  // its read ended: distls closed the connection
  std::string received;           // what came through the tunnel
  std::string send_after;         // sent once the tunnel answered
  std::unique_ptr<TlsStream> tls;
};

class InboundListenerTest : public ::testing::Test {
 protected:
  test::TestCa ca = test::make_ca();
  asio::io_context io;
  std::ostringstream log_text;
  Logger log{log_text, LogLevel::debug};
  Metrics metrics;
  TlsProvider tls{test::tls_for(ca, "127.0.0.2")};
  std::optional<ConnectionLimiter> inbound;
  ConnectionLimiter outbound{16};
  TunnelRegistry tunnels;
  DnsResolver dns{io.get_executor(), {}};
  PeerBook book;
  Tasks tasks{io.get_executor(), log, metrics};
  Sessions sessions;
  // Two loops: an admitted tunnel splices on the worker, as in distls on two CPUs.
  EventLoops loops{io, 2};
  // What the listener's FindNode answers: where the node is registered, if it is.
  std::optional<NodeAddress> node_at;
  // The local node: where an admitted tunnel connects.
  tcp::acceptor node_acceptor{io, tcp::endpoint(ip("127.0.0.1"), 0)};
  tcp::socket node{io};
  std::optional<ProxyContext> ctx;
  std::optional<InboundListener> listener;

  Limits limits() {
    return Limits{std::chrono::seconds(10), std::chrono::minutes(5), 16, 16, 1000};
  }

  void start(Limits l, std::vector<std::string> allow = {}, bool check_source = true) {
    inbound.emplace(l.max_connections);
    ctx.emplace(ProxyContext{log, metrics, tls, *inbound, outbound, tunnels, tasks, sessions, loops, dns, book, l,
                             *parse_node_name("app@127.0.0.2"), 4370, std::nullopt, std::move(allow), check_source});
    listener.emplace(io.get_executor(), *ctx, [this] { return node_at; }, tcp::endpoint(ip("127.0.0.2"), 0));
    listener->start();
  }
  void start() { start(limits()); }

  void register_node(std::uint16_t port) { node_at = tcp::endpoint(ip("127.0.0.1"), port); }

  void TearDown() override {
    if (listener) listener->stop();
    error_code ignored;
    node_acceptor.close(ignored);
    node.close(ignored);
    sessions.close_all();
    io.restart();
    for (int i = 0; i < 1000 && tasks.running() > 0; ++i) io.run_one_for(std::chrono::milliseconds(10));
    EXPECT_EQ(tasks.running(), 0u);
  }

  // Runs the event loop until `done` or a generous deadline; false when it passed.
  template <class Pred>
  bool poll(Pred done, std::chrono::seconds limit = std::chrono::seconds(20)) {
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // The node accepts the tunnel's connection.
  bool accept_node() {
    auto accepted = std::make_shared<bool>(false);
    node_acceptor.async_accept(node, [accepted](error_code ec) { *accepted = !ec; });
    return poll([&] { return *accepted; });
  }
  // Exactly `n` bytes from the tunnel to the node, or why not.
  std::string node_reads(std::size_t n) {
    auto got = std::make_shared<std::pair<bool, std::string>>(false, std::string(n, '\0'));
    asio::async_read(node, asio::buffer(got->second), [got](error_code ec, std::size_t) {
      got->first = true;
      if (ec) got->second = "(" + ec.message() + ")";
    });
    if (!poll([&] { return got->first; })) return "(nothing)";
    return got->second;
  }

  std::uint64_t refusals(const std::string& reason) {
    return metrics.value("distls_handshake_failures_total", {{"direction", "in"}, {"reason", reason}});
  }
  std::uint64_t rejections(const std::string& reason) {
    return metrics.value("distls_connections_rejected_total", {{"reason", reason}});
  }

  // A peer's distls dialling from `source` with `client_tls`, sending `frame` after the
  // handshake (nothing when empty), then reading until the connection ends.
  std::shared_ptr<Dial> dial(const char* source, std::shared_ptr<const TlsContext> client_tls, std::string frame) {
    auto d = std::make_shared<Dial>();
    tasks.spawn("test-peer", [this, d, source, client_tls, frame]() -> asio::awaitable<void> {
      tcp::socket s(io);
      s.open(tcp::v4());
      s.bind(tcp::endpoint(ip(source), 0));
      auto [cec] = co_await s.async_connect(listener->local_endpoint(), as_tuple(use_awaitable));
      if (cec) co_return;
      d->connected = true;
      d->tls = std::make_unique<TlsStream>(std::move(s), client_tls, TlsStream::Role::client);
      expect_peer_host(d->tls->ssl(), *parse_node_name("app@127.0.0.2"));
      auto closer = sessions.add([d] { d->tls->close(); });
      d->handshake = co_await d->tls->handshake();
      if (d->handshake) {
        d->closed_by_server = true;
        co_return;
      }
      if (!frame.empty()) co_await d->tls->write_all(asio::buffer(frame));
      char buf[256];
      for (;;) {
        auto [ec, n] = co_await d->tls->read_some(asio::buffer(buf));
        if (ec) break;
        d->received.append(buf, n);
        if (!d->send_after.empty()) co_await d->tls->write_all(asio::buffer(std::exchange(d->send_after, "")));
      }
      // The test closes its side when it wants the tunnel to end (splice keeps a
      // half-closed tunnel open).
      d->closed_by_server = true;
    });
    return d;
  }
  // A stranger that connects from `source` and sends `bytes` (or nothing), then waits.
  std::shared_ptr<Dial> raw(const char* source, std::string bytes, bool then_close = false) {
    auto d = std::make_shared<Dial>();
    tasks.spawn("test-stranger", [this, d, source, bytes, then_close]() -> asio::awaitable<void> {
      tcp::socket s(io);
      s.open(tcp::v4());
      s.bind(tcp::endpoint(ip(source), 0));
      auto [cec] = co_await s.async_connect(listener->local_endpoint(), as_tuple(use_awaitable));
      if (cec) co_return;
      d->connected = true;
      if (!bytes.empty()) co_await asio::async_write(s, asio::buffer(bytes), as_tuple(use_awaitable));
      if (then_close) co_return;
      auto closer = sessions.add([&s] {
        error_code ignored;
        s.close(ignored);
      });
      char buf[64];
      for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
        if (ec) break;
      }
      d->closed_by_server = true;
    });
    return d;
  }

  // Expects a peer from `source` with a certificate for `host` claiming `name` to be
  // refused with `reason`: counted, logged, its connection closed.
  void expect_refused(const char* source, std::shared_ptr<const TlsContext> client_tls, const std::string& name,
                      const std::string& reason) {
    auto d = dial(source, std::move(client_tls), send_name(name));
    EXPECT_TRUE(poll([&] { return refusals(reason) >= 1; })) << reason << " was not counted; log:\n" << log_text.str();
    EXPECT_TRUE(poll([&] { return d->closed_by_server; })) << "the refused connection stays open";
    EXPECT_NE(log_text.str().find("tunnel_refused direction=in"), std::string::npos);
    EXPECT_NE(log_text.str().find("reason=" + reason), std::string::npos) << log_text.str();
    EXPECT_EQ(metrics.value("distls_tunnels_total", {{"direction", "in"}}), 0u);
  }
};

TEST_F(InboundListenerTest, AnAdmittedPeerIsSplicedToTheRegisteredNode) {
  start();
  register_node(node_acceptor.local_endpoint().port());
  auto d = dial("127.0.0.3", test::tls_for(ca, "127.0.0.3"), send_name("app@127.0.0.3"));
  d->send_after = "from the peer";
  ASSERT_TRUE(accept_node()) << log_text.str();
  // The frame read to check the name reaches the node first, byte for byte.
  const auto frame = send_name("app@127.0.0.3");
  EXPECT_EQ(node_reads(frame.size()), frame);
  asio::write(node, asio::buffer(std::string_view("from the node")));
  ASSERT_TRUE(poll([&] { return d->received == "from the node"; })) << d->received;
  EXPECT_EQ(node_reads(13), "from the peer");
  EXPECT_EQ(metrics.value("distls_tunnels_total", {{"direction", "in"}}), 1u);
  EXPECT_EQ(metrics.gauge("distls_tunnels_open", {{"direction", "in"}}), 1);
  EXPECT_EQ(book.all().at("app@127.0.0.3").tunnels_in, 1);
  EXPECT_NE(log_text.str().find("tunnel_open direction=in"), std::string::npos);
  // The node's close is a half-close for the peer (close_notify); the tunnel ends when
  // the peer closes too.
  node.close();
  EXPECT_TRUE(poll([&] { return d->closed_by_server; }));
  EXPECT_EQ(metrics.gauge("distls_tunnels_open", {{"direction", "in"}}), 1);
  d->tls->close();
  EXPECT_TRUE(poll([&] { return metrics.gauge("distls_tunnels_open", {{"direction", "in"}}) == 0; }));
}

// A source that opens connections faster than --handshake-rate is refused before
// anything else costs; another source is not.
TEST_F(InboundListenerTest, ANodeOnAUnixSocketIsReachedThere) {
  char dir_template[] = "/tmp/distls-inbound-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/app.sock";
  using unix_stream = asio::local::stream_protocol;
  unix_stream::acceptor node_unix_acceptor(io, unix_stream::endpoint(path));
  unix_stream::socket node_unix(io);
  node_at = unix_stream::endpoint(path);
  start();
  auto d = dial("127.0.0.3", test::tls_for(ca, "127.0.0.3"), send_name("app@127.0.0.3"));
  d->send_after = "from the peer";
  auto accepted = std::make_shared<bool>(false);
  node_unix_acceptor.async_accept(node_unix, [accepted](error_code ec) { *accepted = !ec; });
  ASSERT_TRUE(poll([&] { return *accepted; })) << log_text.str();
  const auto frame = send_name("app@127.0.0.3");
  asio::write(node_unix, asio::buffer(std::string_view("from the node")));
  ASSERT_TRUE(poll([&] { return d->received == "from the node"; })) << d->received;
  auto got = std::make_shared<std::string>(frame.size() + 13, '\0');
  auto read = std::make_shared<bool>(false);
  asio::async_read(node_unix, asio::buffer(*got), [got, read](error_code, std::size_t) { *read = true; });
  ASSERT_TRUE(poll([&] { return *read; }));
  EXPECT_EQ(*got, frame + "from the peer");
  EXPECT_EQ(metrics.gauge("distls_tunnels_open", {{"direction", "in"}}), 1);
  node_unix.close();
  d->tls->close();
  EXPECT_TRUE(poll([&] { return metrics.gauge("distls_tunnels_open", {{"direction", "in"}}) == 0; }));
  ::unlink(path.c_str());
  ::rmdir(dir_template);
}

TEST_F(InboundListenerTest, AUnixSocketNobodyListensOnIsNodeUnreachable) {
  node_at = asio::local::stream_protocol::endpoint("/tmp/distls-inbound-nobody-listens.sock");
  start();
  expect_refused("127.0.0.3", test::tls_for(ca, "127.0.0.3"), "app@127.0.0.3", "node_unreachable");
  EXPECT_NE(log_text.str().find("at=/tmp/distls-inbound-nobody-listens.sock"), std::string::npos) << log_text.str();
}

TEST_F(InboundListenerTest, RateLimitIsPerSource) {
  auto l = limits();
  l.handshake_rate = 0.001;  // one connection, then one per 1000 s: none more in this test
  start(l);
  auto first = raw("127.0.0.3", "");
  auto second = raw("127.0.0.3", "");
  EXPECT_TRUE(poll([&] { return rejections("rate_limited") == 1; }));
  EXPECT_TRUE(poll([&] { return second->closed_by_server; }));
  EXPECT_FALSE(first->closed_by_server);
  EXPECT_NE(log_text.str().find("reason=rate_limited"), std::string::npos);
  // Another source has its own allowance: it gets a TLS handshake.
  auto other = dial("127.0.0.4", test::tls_for(ca, "127.0.0.4"), "");
  EXPECT_TRUE(poll([&] { return other->tls && other->tls->ssl() && SSL_is_init_finished(other->tls->ssl()); }));
  EXPECT_FALSE(other->handshake);
  EXPECT_EQ(rejections("rate_limited"), 1u);
}

// --max-connections counts connections in the lobby and in the handshake: one more is
// refused at once, and its slot comes back when a holder leaves.
TEST_F(InboundListenerTest, MaxConnectionsRefusesOneMoreUntilASlotIsFree) {
  auto l = limits();
  l.max_connections = 1;
  start(l);
  auto holder = raw("127.0.0.3", "");
  ASSERT_TRUE(poll([&] { return inbound->active() == 1; }));
  auto extra = raw("127.0.0.4", "");
  EXPECT_TRUE(poll([&] { return rejections("max_connections") == 1; }));
  EXPECT_TRUE(poll([&] { return extra->closed_by_server; }));
  EXPECT_FALSE(holder->closed_by_server);
  sessions.close_all();  // the holder leaves
  ASSERT_TRUE(poll([&] { return inbound->active() == 0; }));
  auto next = dial("127.0.0.5", test::tls_for(ca, "127.0.0.5"), "");
  EXPECT_TRUE(poll([&] { return next->tls && SSL_is_init_finished(next->tls->ssl()); }));
  EXPECT_EQ(rejections("max_connections"), 1u);
}

TEST_F(InboundListenerTest, TheLobbyRefusesTheSilentAndTheLeaving) {
  auto l = limits();
  l.handshake_timeout = std::chrono::milliseconds(300);
  start(l);
  auto silent = raw("127.0.0.3", "");
  EXPECT_TRUE(poll([&] { return refusals("handshake_timeout") == 1; })) << log_text.str();
  EXPECT_TRUE(poll([&] { return silent->closed_by_server; }));
  raw("127.0.0.4", "", true);
  EXPECT_TRUE(poll([&] { return refusals("peer_closed") == 1; })) << log_text.str();
  EXPECT_EQ(inbound->active(), 0u);
}

// A peer that completes TLS and then sends nothing is dropped at the same deadline.
TEST_F(InboundListenerTest, NoFirstFrameWithinTheDeadlineIsHandshakeTimeout) {
  auto l = limits();
  l.handshake_timeout = std::chrono::milliseconds(500);
  start(l);
  auto d = dial("127.0.0.3", test::tls_for(ca, "127.0.0.3"), "");
  EXPECT_TRUE(poll([&] { return refusals("handshake_timeout") == 1; })) << log_text.str();
  EXPECT_FALSE(d->handshake) << "TLS itself went through";
  EXPECT_TRUE(poll([&] { return d->closed_by_server; }));
}

TEST_F(InboundListenerTest, NoIdentityRefusesEveryone) {
  tls.publish(nullptr);
  start();
  auto d = raw("127.0.0.3", "\x16\x03\x01");
  EXPECT_TRUE(poll([&] { return refusals("no_identity") == 1; })) << log_text.str();
  EXPECT_TRUE(poll([&] { return d->closed_by_server; }));
  EXPECT_NE(log_text.str().find("this node has no valid certificate"), std::string::npos);
}

TEST_F(InboundListenerTest, AnExpiredOwnIdentityRefusesEveryone) {
  tls.publish(test::tls_valid_between(ca, "127.0.0.2", -std::chrono::seconds(7200), -std::chrono::seconds(3600)));
  start();
  auto d = raw("127.0.0.3", "\x16\x03\x01");
  EXPECT_TRUE(poll([&] { return refusals("identity_expired") == 1; })) << log_text.str();
  EXPECT_TRUE(poll([&] { return d->closed_by_server; }));
}

TEST_F(InboundListenerTest, AFailedTlsHandshakeIsCountedUnderItsLabel) {
  start();
  auto other = test::make_ca("other CA");
  auto d = dial("127.0.0.3", test::tls_for(other, "127.0.0.3", &ca), send_name("app@127.0.0.3"));
  EXPECT_TRUE(poll([&] { return refusals("untrusted_chain") == 1; })) << log_text.str();
  EXPECT_TRUE(poll([&] { return d->closed_by_server; }));
}

TEST_F(InboundListenerTest, AMalformedFirstFrameIsBadSendName) {
  start();
  register_node(node_acceptor.local_endpoint().port());
  expect_refused("127.0.0.3", test::tls_for(ca, "127.0.0.3"), "app", "bad_send_name");
}

TEST_F(InboundListenerTest, ANameTheCertificateDoesNotCarryIsNameMismatch) {
  start();
  register_node(node_acceptor.local_endpoint().port());
  expect_refused("127.0.0.3", test::tls_for(ca, "127.0.0.3"), "app@127.0.0.4", "name_mismatch");
  EXPECT_EQ(book.all().at("app@127.0.0.4").last_error, "name_mismatch");
}

// The certificate names 127.0.0.5 and the frame claims it, but the connection comes
// from 127.0.0.3: a stolen key or a relay.
TEST_F(InboundListenerTest, AnIpNamedPeerFromAnotherAddressIsSourceMismatch) {
  start();
  register_node(node_acceptor.local_endpoint().port());
  expect_refused("127.0.0.3", test::tls_for(ca, "127.0.0.5"), "app@127.0.0.5", "source_mismatch");
}

TEST_F(InboundListenerTest, WithoutCheckSourceTheAddressIsNotJudged) {
  start(limits(), {}, false);
  register_node(node_acceptor.local_endpoint().port());
  auto d = dial("127.0.0.3", test::tls_for(ca, "127.0.0.5"), send_name("app@127.0.0.5"));
  EXPECT_TRUE(poll([&] { return metrics.value("distls_tunnels_total", {{"direction", "in"}}) == 1; })) << log_text.str();
}

TEST_F(InboundListenerTest, APeerOutsideTheAllowListIsNotAllowed) {
  start(limits(), {"spiffe://cluster.local/ns/shop/sa/app"});
  register_node(node_acceptor.local_endpoint().port());
  expect_refused("127.0.0.3", tls_with_uri(ca, "127.0.0.3", "spiffe://cluster.local/ns/shop/sa/other"),
                 "app@127.0.0.3", "not_allowed");
  // The listed identity gets its tunnel.
  auto d = dial("127.0.0.4", tls_with_uri(ca, "127.0.0.4", "spiffe://cluster.local/ns/shop/sa/app"),
                send_name("app@127.0.0.4"));
  EXPECT_TRUE(poll([&] { return metrics.value("distls_tunnels_total", {{"direction", "in"}}) == 1; })) << log_text.str();
}

TEST_F(InboundListenerTest, NoRegisteredNodeIsNodeNotRegistered) {
  start();
  expect_refused("127.0.0.3", test::tls_for(ca, "127.0.0.3"), "app@127.0.0.3", "node_not_registered");
}

TEST_F(InboundListenerTest, ARegisteredNodeThatDoesNotAnswerIsNodeUnreachable) {
  start();
  tcp::acceptor gone(io, tcp::endpoint(ip("127.0.0.1"), 0));
  const auto port = gone.local_endpoint().port();
  gone.close();  // registered, then died without unregistering
  register_node(port);
  expect_refused("127.0.0.3", test::tls_for(ca, "127.0.0.3"), "app@127.0.0.3", "node_unreachable");
}

}  // namespace
}  // namespace distls
