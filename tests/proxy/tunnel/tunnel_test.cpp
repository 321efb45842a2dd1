// Real TLS over real loopback sockets: a dialling TlsStream talks to a server TlsStream
// that splice() joins to a plain socket, as an inbound tunnel does.
#include "distls/tunnel/tunnel.hpp"

#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/error.hpp>
#include <gtest/gtest.h>

#include "distls/tls/peer_verifier.hpp"
#include "distls/tunnel/tunnel_loop.hpp"
#include "distls/tunnel/tunnel_registry.hpp"
#include "tests/proxy/tls_test_support.hpp"
#include "tests/proxy/tunnel/memory_sides.hpp"

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

// Everything the peer sends, until its stream ends (close_notify or an error).
template <class Bytes>
asio::awaitable<void> read_to_end(TlsStream& s, Bytes& into) {
  std::vector<char> buf(100000);
  for (;;) {
    auto [ec, n] = co_await s.read_some(asio::buffer(buf));
    if (ec) co_return;
    into.insert(into.end(), buf.begin(), buf.begin() + static_cast<long>(n));
  }
}

// Everything a plain socket delivers, until EOF or an error.
template <class Socket, class Bytes>
asio::awaitable<void> read_to_end(Socket& s, Bytes& into) {
  std::vector<char> buf(100000);
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec) co_return;
    into.insert(into.end(), buf.begin(), buf.begin() + static_cast<long>(n));
  }
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

  // 24 MiB each way at once through the tunnel `run_tunnel(node_side, server)` splices:
  // far beyond every buffer on the way. Every byte arrives, in order, and is counted.
  void bulk_both_ways(const std::function<asio::awaitable<void>(tcp::socket&, TlsStream&)>& run_tunnel) {
    auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"));
    ASSERT_FALSE(h.client_ec);
    // Named references, not a structured binding: Clang 14 cannot capture bindings in lambdas.
    auto sockets = socket_pair(io);
    auto& node_side = sockets.first;
    auto& node = sockets.second;
    constexpr std::size_t kBytes = 24 * 1024 * 1024;
    std::vector<std::uint8_t> pattern(kBytes);
    for (std::size_t i = 0; i < kBytes; ++i) pattern[i] = static_cast<std::uint8_t>(i * 31 + i / 4096);

    std::vector<std::uint8_t> at_node, at_peer;
    auto scenario = [&]() -> asio::awaitable<void> {
      using namespace asio::experimental::awaitable_operators;
      auto peer_write = [&]() -> asio::awaitable<void> {
        co_await h.client->write_all(asio::buffer(pattern));
        co_await h.client->shutdown_send();
      };
      auto node_write = [&]() -> asio::awaitable<void> {
        co_await asio::async_write(node, asio::buffer(pattern), as_tuple(use_awaitable));
        node.shutdown(tcp::socket::shutdown_send);
      };
      co_await (run_tunnel(node_side, *h.server) && peer_write() && read_to_end(*h.client, at_peer) && node_write() &&
                read_to_end(node, at_node));
    };
    test::run(io, scenario());
    EXPECT_TRUE(at_node == pattern);
    EXPECT_TRUE(at_peer == pattern);
    EXPECT_EQ(sent, kBytes);
    EXPECT_EQ(received, kBytes);
  }
};

TEST_F(TunnelTest, BulkBothWaysKeepsEveryByteInOrder) {
  bulk_both_ways([&](tcp::socket& node_side, TlsStream& server) -> asio::awaitable<void> {
    co_await splice(node_side, server, {sent, received});
  });
}

// --threads 2: the splice runs on the worker loop, with main's loop driving both ends
// meanwhile, and returns to main with the tunnel's result.
TEST_F(TunnelTest, OnAWorkerLoopBulkBothWaysKeepsEveryByteInOrder) {
  EventLoops loops(io, 2);
  TunnelLoop loop;
  const auto main_thread = std::this_thread::get_id();
  std::optional<std::size_t> spliced_on;
  bulk_both_ways([&](tcp::socket& node_side, TlsStream& server) -> asio::awaitable<void> {
    auto watch = [&]() -> asio::awaitable<void> {
      // Seen from main once bytes move (counted by the pumps): the worker carries them.
      while (std::atomic_ref(sent).load() + std::atomic_ref(received).load() == 0)
        co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
      spliced_on = loop.loop();
      EXPECT_EQ(loops.load(1), 1u);
    };
    using namespace asio::experimental::awaitable_operators;
    co_await (loop.splice(loops, node_side, server, {sent, received}) && watch());
    EXPECT_EQ(std::this_thread::get_id(), main_thread);
    EXPECT_EQ(loops.load(1), 0u);
  });
  EXPECT_EQ(spliced_on, 1u);
}


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
      co_await read_to_end(*h.client, from_node);
    };
    auto local = [&]() -> asio::awaitable<void> {
      co_await read_to_end(node, from_peer);  // eof once the peer half-closed
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

// -proto_dist distls: the node's side is a Unix-domain socket; half-close as over TCP.
TEST_F(TunnelTest, SplicesOverAUnixSocket) {
  auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"));
  ASSERT_FALSE(h.client_ec) << h.client->failure();
  asio::local::stream_protocol::socket node_side(io), node(io);
  asio::local::connect_pair(node_side, node);
  TunnelResult result;
  std::string from_node, from_peer;
  auto scenario = [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto tunnel = [&]() -> asio::awaitable<void> { result = co_await splice(node_side, *h.server, {sent, received}); };
    auto peer = [&]() -> asio::awaitable<void> {
      co_await h.client->write_all(asio::buffer(std::string_view("from peer")));
      co_await h.client->shutdown_send();
      co_await read_to_end(*h.client, from_node);
    };
    auto local = [&]() -> asio::awaitable<void> {
      co_await read_to_end(node, from_peer);
      co_await asio::async_write(node, asio::buffer(std::string_view("reply after eof")), as_tuple(use_awaitable));
      node.shutdown(asio::socket_base::shutdown_send);
    };
    co_await (tunnel() && peer() && local());
  };
  test::run(io, scenario());
  EXPECT_EQ(from_peer, "from peer");
  EXPECT_EQ(from_node, "reply after eof");
  EXPECT_EQ(result.end, "closed");
}

// TLS 1.3 KeyUpdate mid-stream, asked for by each side in turn while bulk flows both
// ways: each answer is OpenSSL output produced while reading, sent beside the bulk of
// the other direction, and every byte still arrives in order.
TEST_F(TunnelTest, KeyUpdatesMidStreamBothWays) {
  auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"));
  ASSERT_FALSE(h.client_ec);
  auto sockets = socket_pair(io);
  auto& node_side = sockets.first;
  auto& node = sockets.second;
  constexpr std::size_t kHalf = 3 * 1024 * 1024;
  std::vector<std::uint8_t> pattern(2 * kHalf);
  for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<std::uint8_t>(i * 7 + i / 1000);
  std::vector<std::uint8_t> at_node, at_peer;
  TunnelResult result;
  auto scenario = [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto tunnel = [&]() -> asio::awaitable<void> { result = co_await splice(node_side, *h.server, {sent, received}); };
    auto peer_write = [&]() -> asio::awaitable<void> {
      co_await h.client->write_all(asio::buffer(pattern.data(), kHalf));
      EXPECT_EQ(SSL_key_update(h.client->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
      co_await h.client->write_all(asio::buffer(pattern.data() + kHalf, kHalf));
      co_await h.client->shutdown_send();
    };
    auto node_write = [&]() -> asio::awaitable<void> {
      co_await asio::async_write(node, asio::buffer(pattern.data(), kHalf), as_tuple(use_awaitable));
      // The tunnel's own TLS side asks for new keys; its next record carries the request.
      EXPECT_EQ(SSL_key_update(h.server->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
      co_await asio::async_write(node, asio::buffer(pattern.data() + kHalf, kHalf), as_tuple(use_awaitable));
      node.shutdown(tcp::socket::shutdown_send);
    };
    co_await (tunnel() && peer_write() && read_to_end(*h.client, at_peer) && node_write() &&
              read_to_end(node, at_node));
  };
  test::run(io, scenario());
  EXPECT_EQ(result.end, "closed");
  EXPECT_TRUE(at_node == pattern) << at_node.size() << " bytes at the node";
  EXPECT_TRUE(at_peer == pattern) << at_peer.size() << " bytes at the peer";
  // Both sides answered a KeyUpdate; nothing is left queued on either.
  EXPECT_EQ(SSL_get_key_update_type(h.server->ssl()), SSL_KEY_UPDATE_NONE);
  EXPECT_EQ(SSL_get_key_update_type(h.client->ssl()), SSL_KEY_UPDATE_NONE);
  EXPECT_EQ(PumpBuffers::of(io.get_executor()).leased(), 0u);
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
      auto entry = registry.add(TunnelRegistry::describe(h.server->ssl(), *parse_node_name(peer), true, "test", [&] {
        boost::system::error_code ignored;
        plain.close(ignored);
        h.server->close();
      }));
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

// The same from main's loop while the tunnel splices on a worker (--threads 2): the
// close is carried to the worker, the tunnel ends there and comes back to main, and a
// close that arrives after the end touches nothing.
TEST_F(TunnelTest, RegistryClosesATunnelOnAWorkerLoop) {
  auto next = test::make_ca("new CA");
  auto h = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"));
  ASSERT_FALSE(h.server_ec);
  auto sockets = socket_pair(io);
  auto& node_side = sockets.first;
  auto& node = sockets.second;
  EventLoops loops(io, 2);
  TunnelRegistry registry;
  TunnelLoop loop;
  std::function<void()> close_both = [&] {
    loop.close([&] {
      boost::system::error_code ignored;
      node_side.close(ignored);
      h.server->close();
    });
  };
  TunnelResult result;
  std::vector<std::string> closed;
  auto scenario = [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto tunnel = [&]() -> asio::awaitable<void> {
      auto entry = registry.add(TunnelRegistry::describe(h.server->ssl(), *parse_node_name("app@127.0.0.3"), true,
                                                         "test", close_both));
      result = co_await loop.splice(loops, node_side, *h.server, {sent, received});
    };
    auto judge = [&]() -> asio::awaitable<void> {
      // A round trip first: the tunnel is then splicing on the worker.
      co_await asio::async_write(node, asio::buffer("ping", 4), as_tuple(use_awaitable));
      std::array<char, 4> got{};
      auto [ec, n] = co_await h.client->read_some(asio::buffer(got));
      EXPECT_FALSE(ec);
      EXPECT_EQ(std::string(got.data(), n), "ping");
      EXPECT_EQ(loop.loop(), 1u);
      ossl::X509Store store{X509_STORE_new()};
      X509_STORE_add_cert(store.get(), next.cert.get());
      EXPECT_EQ(registry.close_untrusted(store.get(), [&](const TunnelRegistry::Tunnel& t, const Reverify& why) {
        closed.push_back(t.peer.full() + " " + why.reason);
      }), 1u);
      // The node's side sees the tunnel go.
      std::array<char, 16> rest{};
      auto [eof, m] = co_await node.async_read_some(asio::buffer(rest), as_tuple(use_awaitable));
      EXPECT_TRUE(eof);
      EXPECT_EQ(m, 0u);
    };
    co_await (tunnel() && judge());
    EXPECT_EQ(loop.loop(), 0u);
    EXPECT_EQ(registry.size(), 0u);
    close_both();  // late, as a shutdown's close after the tunnel ended: harmless
  };
  test::run(io, scenario());
  EXPECT_EQ(closed, (std::vector<std::string>{"app@127.0.0.3 untrusted_chain"}));
  EXPECT_NE(result.end, "closed");
  EXPECT_EQ(loops.load(1), 0u);
}

}  // namespace
}  // namespace distls

// ---- splice() over in-memory sides (memory_sides.hpp): every error path, no sockets ----

namespace distls {
namespace {

namespace beast = boost::beast;
using test::MemorySocket;
using test::MemoryTls;

constexpr std::size_t kNever = std::numeric_limits<std::size_t>::max();
const std::string kInjected = error_code(beast::test::error::test_failure).message();

// What one tunnel over the in-memory sides did.
struct MemoryRun {
  std::optional<TunnelResult> result;    // nullopt: it hung
  std::string at_node, at_peer;          // what each end received
  std::uint64_t sent = 0, received = 0;  // the counters splice() was given
  bool plain_open = true, tls_open = true, no_delay = false;
  std::size_t leased = 0;  // large pump buffers still held after the tunnel ended
};

asio::awaitable<void> drain(MemorySocket& s, std::string& into) {
  char buf[64];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec) co_return;
    into.append(buf, n);
  }
}

asio::awaitable<void> send_and_half_close(MemorySocket& s, const std::string& data) {
  co_await asio::async_write(s, asio::buffer(data), as_tuple(use_awaitable));
  error_code ignored;
  s.shutdown(tcp::socket::shutdown_send, ignored);
}

// The tunnel forwards `initial` to the node; then the node and the peer each send a
// message and half-close. Small read and write sizes make every message several
// operations on each side, so that a failure can strike between any two of them.
// How the bytes move: small pieces (every message many operations), or bursts larger
// than a pump's first read, which take a large buffer and read on without waiting.
struct Shape {
  std::size_t read_size, write_size, peer_read_size, message_size;
  std::size_t node_failures, peer_failures;  // at least: how many operations each side makes
};
constexpr Shape kPieces{7, 5, 8, 0, 15, 8};
constexpr Shape kBursts{3000, 4096, 4096, 3 * kFirstReadSize + 100, 8, 8};

MemoryRun run_memory_tunnel(beast::test::fail_count& plain_fc, beast::test::fail_count& tls_fc,
                            const std::string& initial, const std::string& from_node, const std::string& from_peer,
                            const Shape& shape = kPieces) {
  asio::io_context io;
  MemorySocket node(io), plain(io, plain_fc);
  connect(node, plain);
  plain.read_size(shape.read_size);
  plain.write_size(shape.write_size);
  MemoryTls tls(io, tls_fc);
  tls.transport().read_size(shape.peer_read_size);
  MemoryRun out;
  auto scenario = [&]() -> asio::awaitable<bool> {
    using namespace asio::experimental::awaitable_operators;
    auto tunnel = [&]() -> asio::awaitable<void> {
      out.result = co_await splice(plain, tls, {out.sent, out.received}, asio::buffer(initial));
    };
    co_await (tunnel() && send_and_half_close(node, from_node) && drain(node, out.at_node) &&
              send_and_half_close(tls.remote(), from_peer) && drain(tls.remote(), out.at_peer));
    co_return true;
  };
  if (!test::run_or_hang(io, scenario())) out.result.reset();
  out.plain_open = plain.is_open();
  out.tls_open = tls.is_open();
  out.no_delay = plain.no_delay();
  out.leased = PumpBuffers::of(io.get_executor()).leased();
  return out;
}

// Loops N from 0 upward, failing the Nth operation of one side (`fail_node`: the plain
// side, else the TLS side), until the tunnel runs through. At every N the tunnel ends
// with that side's failure, closes both sides, does not hang, and has counted exactly
// the bytes that reached each end, in order.
// A message of `size` bytes (at least `text`), every byte telling where it is.
std::string message(const std::string& text, std::size_t size) {
  std::string m = text;
  for (std::size_t i = m.size(); i < size; ++i) m.push_back(static_cast<char>('a' + (i * 7 + i / 26) % 26));
  return m;
}

void every_failure_of_one_side(bool fail_node, const Shape& shape = kPieces) {
  const std::string initial("\0\x0cNsend_name!", 14);
  const std::string from_node = message("forty bytes from the node to its peer...", shape.message_size);
  const std::string from_peer = message("thirty bytes from the peer...", shape.message_size);
  std::size_t failures = 0;
  std::size_t n = 0;
  for (; n < 200; ++n) {
    SCOPED_TRACE("N = " + std::to_string(n));
    beast::test::fail_count node_fc(fail_node ? n : kNever), peer_fc(fail_node ? kNever : n);
    const auto r = run_memory_tunnel(node_fc, peer_fc, initial, from_node, from_peer, shape);
    ASSERT_TRUE(r.result) << "the tunnel hung";
    EXPECT_EQ(r.leased, 0u);
    EXPECT_FALSE(r.plain_open);
    EXPECT_FALSE(r.tls_open);
    EXPECT_TRUE(r.no_delay);
    EXPECT_EQ(r.result->sent, r.at_peer.size());
    EXPECT_EQ(r.result->received, r.at_node.size());
    EXPECT_EQ(r.sent, r.result->sent);
    EXPECT_EQ(r.received, r.result->received);
    EXPECT_EQ(r.at_peer, from_node.substr(0, r.at_peer.size()));
    EXPECT_EQ(r.at_node, (initial + from_peer).substr(0, r.at_node.size()));
    if (r.result->end == "closed") {
      EXPECT_EQ(r.at_peer, from_node);
      EXPECT_EQ(r.at_node, initial + from_peer);
      break;
    }
    EXPECT_EQ(r.result->end, (fail_node ? "node: " : "peer: ") + kInjected);
    ++failures;
  }
  EXPECT_LT(n, 200u) << "an operation still failed at N = 200";
  // Each message is several operations: reads, writes in pieces, the half-closes.
  EXPECT_GE(failures, fail_node ? shape.node_failures : shape.peer_failures);
}

TEST(MemoryTunnel, EveryFailureOnTheNodeSideEndsTheTunnelCleanly) { every_failure_of_one_side(true); }

TEST(MemoryTunnel, EveryFailureOnThePeerSideEndsTheTunnelCleanly) { every_failure_of_one_side(false); }

TEST(MemoryTunnel, EveryFailureInABurstOnTheNodeSideEndsTheTunnelCleanly) { every_failure_of_one_side(true, kBursts); }

TEST(MemoryTunnel, EveryFailureInABurstOnThePeerSideEndsTheTunnelCleanly) { every_failure_of_one_side(false, kBursts); }

class MemoryTunnelTest : public ::testing::Test {
 protected:
  asio::io_context io;
  beast::test::fail_count never{kNever}, never_tls{kNever};
  MemorySocket node{io}, plain{io, never};
  MemoryTls tls{io, never_tls};
  std::uint64_t sent = 0, received = 0;
  TunnelResult result;

  void SetUp() override { connect(node, plain); }

  // Runs the tunnel beside `others`; false when it all hung.
  template <class... Others>
  bool run(asio::const_buffer initial, Others... others) {
    auto scenario = [&]() -> asio::awaitable<bool> {
      using namespace asio::experimental::awaitable_operators;
      auto tunnel = [&]() -> asio::awaitable<void> { result = co_await splice(plain, tls, {sent, received}, initial); };
      co_await (tunnel() && ... && std::move(others));
      co_return true;
    };
    return test::run_or_hang(io, scenario()).has_value();
  }
};

// The node is done sending; the peer, having read everything and the close_notify, still
// answers, and its answer reaches the node.
TEST_F(MemoryTunnelTest, NodeHalfCloseLeavesTheOtherDirectionOpen) {
  std::string at_peer, at_node;
  auto peer = [&]() -> asio::awaitable<void> {
    co_await drain(tls.remote(), at_peer);  // ends at the close_notify
    co_await send_and_half_close(tls.remote(), "answer after eof");
  };
  ASSERT_TRUE(run({}, send_and_half_close(node, "request"), drain(node, at_node), peer()));
  EXPECT_EQ(at_peer, "request");
  EXPECT_EQ(at_node, "answer after eof");
  EXPECT_EQ(tls.remote().peer_ending(), MemorySocket::Ending::shutdown) << "a close_notify, not a mere close";
  EXPECT_EQ(result.end, "closed");
  EXPECT_EQ(result.sent, 7u);
  EXPECT_EQ(result.received, 16u);
}

TEST_F(MemoryTunnelTest, PeerCloseNotifyLeavesTheOtherDirectionOpen) {
  std::string at_peer, at_node;
  auto local = [&]() -> asio::awaitable<void> {
    co_await drain(node, at_node);  // ends at the peer's half-close
    co_await send_and_half_close(node, "answer after eof");
  };
  ASSERT_TRUE(run({}, send_and_half_close(tls.remote(), "request"), drain(tls.remote(), at_peer), local()));
  EXPECT_EQ(at_node, "request");
  EXPECT_EQ(at_peer, "answer after eof");
  EXPECT_EQ(node.peer_ending(), MemorySocket::Ending::shutdown) << "the node got a FIN, not a close";
  EXPECT_EQ(result.end, "closed");
}

// A reset, unlike an eof, ends both directions at once: the node, which never closed,
// sees its connection end.
TEST_F(MemoryTunnelTest, PeerResetEndsBothDirections) {
  std::string at_node, at_peer;
  auto peer = [&]() -> asio::awaitable<void> {
    co_await asio::async_write(tls.remote(), asio::buffer(std::string_view("partial")), as_tuple(use_awaitable));
    tls.remote().reset();
    co_return;
  };
  ASSERT_TRUE(run({}, peer(), drain(node, at_node)));
  EXPECT_EQ(result.end, "peer: " + error_code(asio::error::connection_reset).message());
  EXPECT_EQ(at_node, "partial");
  EXPECT_EQ(result.received, 7u);
  EXPECT_FALSE(plain.is_open());
  EXPECT_FALSE(tls.is_open());
  EXPECT_EQ(node.peer_ending(), MemorySocket::Ending::closed);
}

// A TLS connection that ends without a close_notify may have been cut by an attacker:
// not a half-close but an error, and the node's side is closed, not half-closed.
TEST_F(MemoryTunnelTest, PeerEndingWithoutCloseNotifyIsAnError) {
  std::string at_node;
  auto peer = [&]() -> asio::awaitable<void> {
    tls.remote().close();
    co_return;
  };
  ASSERT_TRUE(run({}, peer(), drain(node, at_node)));
  EXPECT_EQ(result.end, "peer: " + error_code(asio::ssl::error::stream_truncated).message());
  EXPECT_FALSE(plain.is_open());
  EXPECT_EQ(node.peer_ending(), MemorySocket::Ending::closed);
}

TEST_F(MemoryTunnelTest, NodeResetEndsBothDirections) {
  std::string at_peer;
  auto local = [&]() -> asio::awaitable<void> {
    co_await asio::async_write(node, asio::buffer(std::string_view("partial")), as_tuple(use_awaitable));
    node.reset();
  };
  ASSERT_TRUE(run({}, local(), drain(tls.remote(), at_peer)));
  EXPECT_EQ(result.end, "node: " + error_code(asio::error::connection_reset).message());
  EXPECT_EQ(at_peer, "partial");
  EXPECT_EQ(result.sent, 7u);
  EXPECT_FALSE(tls.is_open());
  EXPECT_EQ(tls.remote().peer_ending(), MemorySocket::Ending::closed) << "no close_notify after a failure";
}

// A half-close that cannot be passed on would leave the other end waiting for an end
// that never comes: it ends the tunnel instead, both ways.
TEST_F(MemoryTunnelTest, CloseNotifyThatCannotBeSentEndsTheTunnel) {
  tls.transport().fail_shutdown(asio::error::broken_pipe);
  std::string at_node, at_peer;
  ASSERT_TRUE(run({}, send_and_half_close(node, "done"), drain(node, at_node), drain(tls.remote(), at_peer)));
  EXPECT_EQ(result.end, "peer: " + error_code(asio::error::broken_pipe).message());
  EXPECT_EQ(at_peer, "done");
  EXPECT_FALSE(plain.is_open());
  EXPECT_FALSE(tls.is_open());
}

TEST_F(MemoryTunnelTest, HalfCloseThatCannotReachTheNodeEndsTheTunnel) {
  plain.fail_shutdown(asio::error::not_connected);
  std::string at_node, at_peer;
  ASSERT_TRUE(run({}, send_and_half_close(tls.remote(), "done"), drain(node, at_node), drain(tls.remote(), at_peer)));
  EXPECT_EQ(result.end, "node: " + error_code(asio::error::not_connected).message());
  EXPECT_EQ(at_node, "done");
  EXPECT_FALSE(plain.is_open());
  EXPECT_FALSE(tls.is_open());
}

// The send_name frame an inbound tunnel read goes to the node first; when the node's side
// refuses it, nothing is counted and the peer is cut off.
TEST_F(MemoryTunnelTest, InitialFrameWriteFailureEndsTheTunnel) {
  plain.fail_writes(asio::error::broken_pipe);
  std::string at_node, at_peer;
  const std::string frame("\0\x0cNsend_name!", 14);
  ASSERT_TRUE(run(asio::buffer(frame), drain(node, at_node), drain(tls.remote(), at_peer)));
  EXPECT_EQ(result.end, "node: " + error_code(asio::error::broken_pipe).message());
  EXPECT_EQ(result.received, 0u);
  EXPECT_EQ(received, 0u);
  EXPECT_EQ(at_node, "");
  EXPECT_FALSE(tls.is_open());
  EXPECT_FALSE(plain.is_open());
}

// Bursts several times a pump's large buffer arrive whole and in order both ways; the
// large buffers are taken for them and all given back once the tunnel is idle again,
// while it is still open.
TEST_F(MemoryTunnelTest, BurstsArriveWholeAndIdleTunnelHoldsNoLargeBuffer) {
  const std::string to_peer = message("to the peer", 3 * kPumpBufferSize + 123);
  const std::string to_node = message("to the node", 2 * kPumpBufferSize + 45);
  auto& pool = PumpBuffers::of(io.get_executor());
  std::string at_peer, at_node;
  std::size_t leased_when_idle = 99;
  auto read_exactly = [&](MemorySocket& s, std::string& into, std::size_t n) -> asio::awaitable<void> {
    std::vector<char> buf(50000);
    while (into.size() < n) {
      auto [ec, got] = co_await s.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
      if (ec) co_return;
      into.append(buf.data(), got);
    }
  };
  auto both = [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto write = [](MemorySocket& s, const std::string& data) -> asio::awaitable<void> {
      co_await asio::async_write(s, asio::buffer(data), as_tuple(use_awaitable));
    };
    co_await (write(node, to_peer) && write(tls.remote(), to_node) && read_exactly(tls.remote(), at_peer, to_peer.size()) &&
              read_exactly(node, at_node, to_node.size()));
    // Everything was delivered; the pumps now go back to waiting. Let them run (no
    // clock: a bounded number of turns of the loop) until they hold no large buffer.
    for (int turn = 0; turn < 1000 && pool.leased() > 0; ++turn) co_await asio::post(io, use_awaitable);
    leased_when_idle = pool.leased();
    EXPECT_TRUE(plain.is_open());
    EXPECT_TRUE(tls.is_open());
    error_code ignored;
    node.shutdown(tcp::socket::shutdown_send, ignored);
    tls.remote().shutdown(tcp::socket::shutdown_send, ignored);
  };
  ASSERT_TRUE(run({}, both()));
  EXPECT_TRUE(at_peer == to_peer) << at_peer.size();
  EXPECT_TRUE(at_node == to_node) << at_node.size();
  EXPECT_EQ(leased_when_idle, 0u);
  EXPECT_GE(pool.cached(), 1u) << "a burst this size takes a large buffer";
  EXPECT_EQ(result.end, "closed");
}

TEST_F(MemoryTunnelTest, InitialFrameReachesTheNodeBeforeThePeersBytes) {
  std::string at_node, at_peer;
  const std::string frame("\0\x0cNsend_name!", 14);
  ASSERT_TRUE(run(asio::buffer(frame), drain(node, at_node), send_and_half_close(tls.remote(), "then the rest"),
                  send_and_half_close(node, ""), drain(tls.remote(), at_peer)));
  EXPECT_EQ(at_node, frame + "then the rest");
  EXPECT_EQ(result.received, frame.size() + 13);
  EXPECT_EQ(result.end, "closed");
}

}  // namespace
}  // namespace distls
