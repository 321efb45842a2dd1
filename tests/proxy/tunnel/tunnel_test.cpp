// Real TLS over real loopback sockets: a dialling TlsStream talks to a server TlsStream
// that splice() joins to a plain socket, as an inbound tunnel does.
#include "distls/tunnel/tunnel.hpp"

#include <numeric>

#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "distls/tls/peer_verifier.hpp"
#include "distls/tunnel/tunnel_registry.hpp"
#include "tests/proxy/tls_test_support.hpp"

namespace distls {
namespace {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

// A connected pair of loopback TCP sockets.
std::pair<tcp::socket, tcp::socket> socket_pair(asio::io_context& io) {
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket a(io), b(io);
  a.connect(acc.local_endpoint());
  acc.accept(b);
  return {std::move(a), std::move(b)};
}

class TunnelTest : public ::testing::Test {
 protected:
  test::TestCa ca = test::make_ca();
  asio::io_context io;
  std::uint64_t sent = 0, received = 0;

  struct Handshaken {
    std::unique_ptr<TlsStream> client, server;
    error_code client_ec, server_ec;
  };

  Handshaken handshake(std::shared_ptr<const TlsContext> client_tls, std::shared_ptr<const TlsContext> server_tls,
                       const std::string& expect_host = "127.0.0.2") {
    auto [a, b] = socket_pair(io);
    Handshaken h;
    h.client = std::make_unique<TlsStream>(std::move(a), client_tls, TlsStream::Role::client);
    h.server = std::make_unique<TlsStream>(std::move(b), server_tls, TlsStream::Role::server);
    EXPECT_TRUE(expect_peer_host(h.client->ssl(), *parse_node_name("app@" + expect_host)));
    auto both = [&]() -> asio::awaitable<void> {
      using namespace asio::experimental::awaitable_operators;
      auto client = [&]() -> asio::awaitable<void> {
        h.client_ec = co_await h.client->handshake();
        if (h.client_ec) h.client->close();
      };
      auto server = [&]() -> asio::awaitable<void> {
        h.server_ec = co_await h.server->handshake();
        if (h.server_ec) h.server->close();
      };
      co_await (client() && server());
    };
    test::run(io, both());
    return h;
  }
};

TEST_F(TunnelTest, SplicesBothWaysWithHalfClose) {
  auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"));
  ASSERT_FALSE(h.client_ec) << h.client->failure();
  ASSERT_FALSE(h.server_ec) << h.server->failure();
  // Named references, not a structured binding: Clang 14 cannot capture bindings in lambdas.
  auto sockets = socket_pair(io);
  auto& node_side = sockets.first;
  auto& node = sockets.second;

  TunnelResult result;
  std::string from_node, from_peer;
  auto scenario = [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto tunnel = [&]() -> asio::awaitable<void> {
      result = co_await splice(node_side, *h.server, {sent, received}, asio::buffer(std::string_view("hello ")));
    };
    auto peer = [&]() -> asio::awaitable<void> {
      co_await h.client->write_all(asio::buffer(std::string_view("from peer")));
      co_await h.client->shutdown_send();  // half-close: the peer is done sending
      char buf[64];
      for (;;) {
        auto [ec, n] = co_await h.client->read_some(asio::buffer(buf));
        if (ec) break;
        from_node.append(buf, n);
      }
    };
    auto local = [&]() -> asio::awaitable<void> {
      char buf[64];
      for (;;) {
        auto [ec, n] = co_await node.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
        if (ec) break;  // eof once the peer half-closed
        from_peer.append(buf, n);
      }
      // Still allowed to answer after the peer's half-close.
      co_await asio::async_write(node, asio::buffer(std::string_view("reply after eof")), as_tuple(use_awaitable));
      node.shutdown(tcp::socket::shutdown_send);
    };
    co_await (tunnel() && peer() && local());
  };
  test::run(io, scenario());
  EXPECT_EQ(from_peer, "hello from peer");
  EXPECT_EQ(from_node, "reply after eof");
  EXPECT_EQ(result.end, "closed");
  EXPECT_EQ(result.sent, 15u);
  EXPECT_EQ(result.received, 15u);
  EXPECT_EQ(sent, 15u);
}

TEST_F(TunnelTest, BulkBothWaysKeepsEveryByteInOrder) {
  auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"));
  ASSERT_FALSE(h.client_ec);
  // Named references, not a structured binding: Clang 14 cannot capture bindings in lambdas.
  auto sockets = socket_pair(io);
  auto& node_side = sockets.first;
  auto& node = sockets.second;
  constexpr std::size_t kBytes = 24 * 1024 * 1024;  // far beyond every buffer on the way
  std::vector<std::uint8_t> pattern(kBytes);
  for (std::size_t i = 0; i < kBytes; ++i) pattern[i] = static_cast<std::uint8_t>(i * 31 + i / 4096);

  std::vector<std::uint8_t> at_node, at_peer;
  auto scenario = [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto tunnel = [&]() -> asio::awaitable<void> { co_await splice(node_side, *h.server, {sent, received}); };
    auto peer_write = [&]() -> asio::awaitable<void> {
      co_await h.client->write_all(asio::buffer(pattern));
      co_await h.client->shutdown_send();
    };
    auto peer_read = [&]() -> asio::awaitable<void> {
      std::vector<std::uint8_t> buf(100000);
      for (;;) {
        auto [ec, n] = co_await h.client->read_some(asio::buffer(buf));
        if (ec) break;
        at_peer.insert(at_peer.end(), buf.begin(), buf.begin() + static_cast<long>(n));
      }
    };
    auto node_write = [&]() -> asio::awaitable<void> {
      co_await asio::async_write(node, asio::buffer(pattern), as_tuple(use_awaitable));
      node.shutdown(tcp::socket::shutdown_send);
    };
    auto node_read = [&]() -> asio::awaitable<void> {
      std::vector<std::uint8_t> buf(70000);
      for (;;) {
        auto [ec, n] = co_await node.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
        if (ec) break;
        at_node.insert(at_node.end(), buf.begin(), buf.begin() + static_cast<long>(n));
      }
    };
    co_await (tunnel() && peer_write() && peer_read() && node_write() && node_read());
  };
  test::run(io, scenario());
  EXPECT_TRUE(at_node == pattern);
  EXPECT_TRUE(at_peer == pattern);
  EXPECT_EQ(sent, kBytes);
  EXPECT_EQ(received, kBytes);
}

TEST_F(TunnelTest, ResetOnOneSideClosesTheOther) {
  auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"));
  ASSERT_FALSE(h.client_ec);
  // Named references, not a structured binding: Clang 14 cannot capture bindings in lambdas.
  auto sockets = socket_pair(io);
  auto& node_side = sockets.first;
  auto& node = sockets.second;
  TunnelResult result;
  error_code peer_ec;
  auto scenario = [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto tunnel = [&]() -> asio::awaitable<void> { result = co_await splice(node_side, *h.server, {sent, received}); };
    auto reset = [&]() -> asio::awaitable<void> {
      node.set_option(asio::socket_base::linger(true, 0));  // close() now sends RST
      node.close();
      co_return;
    };
    auto peer = [&]() -> asio::awaitable<void> {
      char buf[16];
      auto [ec, n] = co_await h.client->read_some(asio::buffer(buf));
      peer_ec = ec;
    };
    co_await (tunnel() && reset() && peer());
  };
  test::run(io, scenario());
  EXPECT_NE(result.end, "closed");
  EXPECT_TRUE(peer_ec);  // the peer learns the tunnel is gone
}

TEST_F(TunnelTest, DialledHostMustBeInServerCert) {
  auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"), "127.0.0.9");
  EXPECT_TRUE(h.client_ec);
  EXPECT_EQ(h.client->failure_label(), "name_mismatch");
  EXPECT_TRUE(h.server_ec);
}

TEST_F(TunnelTest, ClientFromAnotherCaIsRefused) {
  auto other = test::make_ca("other CA");
  // The client trusts our CA (so it would accept the server) but its own cert is from another.
  auto h = handshake(test::tls_for(other, "127.0.0.3", &ca), test::tls_for(ca, "127.0.0.2"));
  EXPECT_TRUE(h.server_ec);
  EXPECT_EQ(h.server->failure_label(), "untrusted_chain");
}

TEST_F(TunnelTest, ServerFromAnotherCaIsRefused) {
  auto other = test::make_ca("other CA");
  auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(other, "127.0.0.2", &ca));
  EXPECT_TRUE(h.client_ec);
  EXPECT_EQ(h.client->failure_label(), "untrusted_chain");
}

TEST_F(TunnelTest, ClientWithoutCertIsRefused) {
  auto [a, b] = socket_pair(io);
  ossl::SslCtx bare{SSL_CTX_new(TLS_client_method())};
  SSL_CTX_set_verify(bare.get(), SSL_VERIFY_NONE, nullptr);
  ossl::Ssl ssl{SSL_new(bare.get())};
  SSL_set_fd(ssl.get(), static_cast<int>(a.native_handle()));
  TlsStream server(std::move(b), test::tls_for(ca, "127.0.0.2"), TlsStream::Role::server);
  std::thread client([&] {
    SSL_connect(ssl.get());
    char c;
    SSL_read(ssl.get(), &c, 1);  // TLS 1.3: the server's verdict arrives after the client's Finished
  });
  error_code ec = test::run(io, server.handshake());
  client.join();
  EXPECT_TRUE(ec);
  EXPECT_EQ(server.failure_label(), "no_peer_cert");
}

TEST_F(TunnelTest, PlainTextIsNotTls) {
  auto [a, b] = socket_pair(io);
  TlsStream server(std::move(b), test::tls_for(ca, "127.0.0.2"), TlsStream::Role::server);
  // What a stock Erlang node sends first: a 2-byte length and an 'N' send_name frame.
  const std::uint8_t frame[] = {0, 8, 'N', 0, 0, 0, 0, 0, 0, 0};
  asio::write(a, asio::buffer(frame));
  error_code ec = test::run(io, server.handshake());
  EXPECT_TRUE(ec);
  EXPECT_EQ(server.failure_label(), "not_tls");
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

// extendedKeyUsage is required, not merely checked when present (RFC 5280 would let a
// certificate without it serve any purpose).
TEST_F(TunnelTest, ClientCertWithoutClientAuthIsRefused) {
  for (const std::string eku : {"", "serverAuth"}) {
    auto h = handshake(test::tls_with_eku(ca, "127.0.0.3", eku), test::tls_for(ca, "127.0.0.2"));
    EXPECT_TRUE(h.server_ec) << "EKU '" << eku << "'";
    EXPECT_EQ(h.server->failure_label(), "bad_usage") << "EKU '" << eku << "'";
  }
}

TEST_F(TunnelTest, ServerCertWithoutServerAuthIsRefused) {
  for (const std::string eku : {"", "clientAuth"}) {
    auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_with_eku(ca, "127.0.0.2", eku));
    EXPECT_TRUE(h.client_ec) << "EKU '" << eku << "'";
    EXPECT_EQ(h.client->failure_label(), "bad_usage") << "EKU '" << eku << "'";
  }
}

TEST_F(TunnelTest, UsageFitForTheRoleIsEnough) {
  auto h = handshake(test::tls_with_eku(ca, "127.0.0.3", "clientAuth"), test::tls_with_eku(ca, "127.0.0.2", "serverAuth"));
  EXPECT_FALSE(h.client_ec) << h.client->failure();
  EXPECT_FALSE(h.server_ec) << h.server->failure();
}

// Key exchange groups are X25519 and P-256: a client that offers only a finite-field
// group, the costly kind, gets no handshake at all.
TEST_F(TunnelTest, FiniteFieldGroupsAreNotOffered) {
  auto server_tls = test::tls_for(ca, "127.0.0.2");
  for (const char* groups : {"ffdhe8192", "ffdhe2048:secp521r1"}) {
    auto [a, b] = socket_pair(io);
    ossl::SslCtx client_ctx{SSL_CTX_new(TLS_client_method())};
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_NONE, nullptr);
    ASSERT_EQ(SSL_CTX_set1_groups_list(client_ctx.get(), groups), 1);
    ossl::Ssl ssl{SSL_new(client_ctx.get())};
    SSL_set_fd(ssl.get(), static_cast<int>(a.native_handle()));
    TlsStream server(std::move(b), server_tls, TlsStream::Role::server);
    int connected = 0;
    std::thread client([&] { connected = SSL_connect(ssl.get()); });
    error_code ec = test::run(io, server.handshake());
    server.close();
    client.join();
    EXPECT_TRUE(ec) << groups;
    EXPECT_NE(connected, 1) << groups;
  }
  for (const char* groups : {"X25519", "P-256"}) {
    auto [a, b] = socket_pair(io);
    auto client_tls = test::tls_for(ca, "127.0.0.3");
    ossl::Ssl ssl{SSL_new(client_tls->client())};
    ASSERT_EQ(SSL_set1_groups_list(ssl.get(), groups), 1);
    SSL_set_fd(ssl.get(), static_cast<int>(a.native_handle()));
    TlsStream server(std::move(b), server_tls, TlsStream::Role::server);
    std::thread client([&] {
      SSL_connect(ssl.get());
      char c;
      SSL_read(ssl.get(), &c, 1);
    });
    error_code ec = test::run(io, server.handshake());
    server.close();
    client.join();
    EXPECT_FALSE(ec) << groups << ": " << server.failure();
  }
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

// A trust change reaches live tunnels: the registry judges each peer again and closes
// the tunnel whose peer no longer chains; the others go on.
TEST_F(TunnelTest, RegistryClosesTunnelsWhosePeerNoLongerVerifies) {
  auto next = test::make_ca("new CA");
  auto old_peer = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"));
  auto new_peer = handshake(test::tls_for(next, "127.0.0.4", &ca), test::tls_for(ca, "127.0.0.2", &next));
  ASSERT_FALSE(old_peer.server_ec);
  ASSERT_FALSE(new_peer.server_ec) << new_peer.server->failure();
  auto old_sockets = socket_pair(io);
  auto new_sockets = socket_pair(io);
  TunnelRegistry registry;
  std::vector<std::string> closed;
  TunnelResult old_result, new_result;
  std::uint64_t s2 = 0, r2 = 0;
  auto scenario = [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto tunnel = [&](Handshaken& h, tcp::socket& plain, const char* peer, TunnelResult& out,
                      std::uint64_t& s, std::uint64_t& r) -> asio::awaitable<void> {
      auto entry = registry.add({*parse_node_name(peer), true, "test", h.server.get(), &plain,
                                 TunnelRegistry::peer_not_after(h.server->ssl())});
      out = co_await splice(plain, *h.server, {s, r});
    };
    auto judge = [&]() -> asio::awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await t.async_wait(as_tuple(use_awaitable));
      EXPECT_EQ(registry.size(), 2u);
      ossl::X509Store store{X509_STORE_new()};
      X509_STORE_add_cert(store.get(), next.cert.get());
      EXPECT_EQ(registry.close_untrusted(store.get(), [&](const TunnelRegistry::Tunnel& t, const Reverify& why) {
        closed.push_back(t.peer.full() + " " + why.reason);
      }), 1u);
      // The other tunnel is still open; end it from its peer's side.
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(as_tuple(use_awaitable));
      EXPECT_EQ(registry.size(), 1u);
      new_peer.client->close();
      new_sockets.second.close();
    };
    co_await (tunnel(old_peer, old_sockets.first, "app@127.0.0.3", old_result, sent, received) &&
              tunnel(new_peer, new_sockets.first, "app@127.0.0.4", new_result, s2, r2) && judge());
  };
  test::run(io, scenario());
  EXPECT_EQ(closed, (std::vector<std::string>{"app@127.0.0.3 untrusted_chain"}));
  EXPECT_NE(old_result.end, "closed");
  EXPECT_EQ(registry.size(), 0u);
}

}  // namespace
}  // namespace distls
