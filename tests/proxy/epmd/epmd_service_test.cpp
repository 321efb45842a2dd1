// The EPMD-compatible listener over real loopback sockets, driven as erl_epmd and
// `epmd -names` drive it, and as a hostile local process would.
#include "distls/epmd/epmd_service.hpp"

#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "tests/proxy/tls_test_support.hpp"

namespace distls {
namespace {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

class EpmdServiceTest : public ::testing::Test {
 protected:
  test::TestCa ca = test::make_ca();
  asio::io_context io;
  std::ostringstream log_text;
  Logger log{log_text, LogLevel::debug};
  Metrics metrics;
  TlsProvider tls{test::tls_for(ca, "127.0.0.2")};
  ConnectionLimiter inbound{16}, outbound{16};
  TunnelRegistry tunnels;
  DnsResolver dns{io.get_executor(), {}};
  PeerBook book;
  Tasks tasks{io.get_executor(), log, metrics};
  Sessions sessions;
  EventLoops loops{io, 1};
  ProxyContext ctx{log, metrics, tls, inbound, outbound, tunnels, tasks, sessions, loops, dns, book,
                   Limits{std::chrono::milliseconds(300), std::chrono::minutes(5), 16, 16, 20},
                   *parse_node_name("app@127.0.0.2"), 4370, std::nullopt, {}};
  NodeRegistry registry;
  PeerListeners listeners{io.get_executor(), ctx, asio::ip::address_v4::loopback()};
  EpmdService service{io.get_executor(), ctx, registry, listeners, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};

  void SetUp() override { service.start(); }
  void TearDown() override {
    // As the proxy command shuts down: nothing may be left running when the objects the
    // coroutines use are destroyed.
    service.stop();
    listeners.stop();
    sessions.close_all();
    io.restart();
    for (int i = 0; i < 500 && tasks.running() > 0; ++i) io.run_one_for(std::chrono::milliseconds(10));
    EXPECT_EQ(tasks.running(), 0u);
  }

  tcp::socket connect() {
    tcp::socket s(io);
    s.connect(service.local_endpoint());
    return s;
  }

  // Sends raw bytes, then reads until the service closes the connection.
  std::vector<std::uint8_t> exchange(tcp::socket& s, const std::vector<std::uint8_t>& request) {
    return test::run(io, [&]() -> asio::awaitable<std::vector<std::uint8_t>> {
      co_await asio::async_write(s, asio::buffer(request), as_tuple(use_awaitable));
      std::vector<std::uint8_t> out;
      std::uint8_t buf[512];
      for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
        if (ec) break;
        out.insert(out.end(), buf, buf + n);
      }
      co_return out;
    }());
  }

  // Registers and keeps the connection open, as erl_epmd does; returns the reply.
  std::vector<std::uint8_t> register_node(tcp::socket& s, const std::string& name, std::uint16_t port) {
    return test::run(io, [&]() -> asio::awaitable<std::vector<std::uint8_t>> {
      auto req = epmd::encode_alive2_req({port, 77, 0, 6, 5, name, ""});
      co_await asio::async_write(s, asio::buffer(req), as_tuple(use_awaitable));
      std::vector<std::uint8_t> out(2);
      auto [ec, n] = co_await asio::async_read(s, asio::buffer(out), as_tuple(use_awaitable));
      if (!ec && out[0] == epmd::kAlive2XResp && out[1] == 0) {
        out.resize(6);
        co_await asio::async_read(s, asio::buffer(out.data() + 2, 4), as_tuple(use_awaitable));
      }
      co_return out;
    }());
  }

  std::vector<std::uint8_t> port_please(const std::string& name) {
    auto s = connect();
    return exchange(s, epmd::encode_port_please2_req(name));
  }

  static std::uint16_t port_of(const std::vector<std::uint8_t>& reply) {
    EXPECT_GE(reply.size(), 4u);
    EXPECT_EQ(reply[0], epmd::kPort2Resp);
    EXPECT_EQ(reply[1], 0);
    return static_cast<std::uint16_t>(reply[2] << 8 | reply[3]);
  }

  void settle() {
    io.restart();
    io.poll();
  }
};

TEST_F(EpmdServiceTest, RegistrationIsHeldWhileTheConnectionLives) {
  auto reg = connect();
  auto reply = register_node(reg, "app", 40001);
  ASSERT_EQ(reply.size(), 6u);
  EXPECT_EQ(reply[0], epmd::kAlive2XResp);
  EXPECT_EQ(reply[1], 0);
  const std::uint32_t creation = reply[2] << 24 | reply[3] << 16 | reply[4] << 8 | reply[5];
  EXPECT_GE(creation, 4u);

  EXPECT_EQ(port_of(port_please("app")), 40001);
  // The own host's full name is the node itself: remote consoles need no tunnel.
  EXPECT_EQ(port_of(port_please("app@127.0.0.2")), 40001);

  auto dup = connect();
  EXPECT_EQ(register_node(dup, "app", 40002)[1], 1);  // name taken

  auto names_conn = connect();
  auto names = exchange(names_conn, {0, 1, epmd::kNamesReq});
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(std::string(names.begin() + 4, names.end()), "name app at port 40001\n");

  reg.close();
  settle();
  EXPECT_EQ(port_please("app"), (std::vector<std::uint8_t>{epmd::kPort2Resp, 1}));
  EXPECT_NE(log_text.str().find("node_unregistered name=app"), std::string::npos);
}

// Port 0 is a node listening on a Unix socket in --socket-dir; a distls without one
// could never reach it, and says so at registration rather than at the first tunnel.
TEST_F(EpmdServiceTest, PortZeroRegistrationNeedsASocketDirectory) {
  auto refused = connect();
  EXPECT_EQ(register_node(refused, "app", 0)[1], 1);
  settle();
  EXPECT_EQ(metrics.counter("distls_registrations_refused_total", {{"reason", "no_socket_dir"}}), 1u);
  EXPECT_NE(log_text.str().find("reason=no_socket_dir"), std::string::npos);

  ctx.socket_dir = "/run/distls";
  auto reg = connect();
  EXPECT_EQ(register_node(reg, "app", 0)[1], 0);
  // A TCP-mode console on this pod has no port to dial: refused with the reason.
  EXPECT_EQ(port_please("app@127.0.0.2"), (std::vector<std::uint8_t>{epmd::kPort2Resp, 1}));
  EXPECT_EQ(metrics.counter("distls_epmd_errors_total", {{"reason", "unix_socket_node"}}), 1u);
}

TEST_F(EpmdServiceTest, RemoteFullNameGetsAPerPeerLoopbackPort) {
  const auto port = port_of(port_please("app@127.0.0.3"));
  EXPECT_NE(port, 0);
  EXPECT_EQ(port_of(port_please("app@127.0.0.3")), port);  // reused
  EXPECT_NE(port_of(port_please("app@127.0.0.4")), port);  // one per peer
  tcp::socket probe(io);
  probe.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));  // it listens
  ASSERT_EQ(listeners.list().size(), 2u);
  EXPECT_EQ(listeners.list()[0].peer, "app@127.0.0.3");
  // An unregistered alive on this host is unknown, not a tunnel to ourselves.
  EXPECT_EQ(port_please("other@127.0.0.2"), (std::vector<std::uint8_t>{epmd::kPort2Resp, 1}));
}

TEST_F(EpmdServiceTest, PeersRequestReturnsTheDiscoveredSet) {
  auto s = connect();
  EXPECT_EQ(exchange(s, {0, 1, epmd::kDistlsPeersReq}), (std::vector<std::uint8_t>{'D', 0, 0}));
  book.set_discovered({"app@127.0.0.3", "app@127.0.0.4"});
  auto t = connect();
  const auto reply = exchange(t, {0, 1, epmd::kDistlsPeersReq});
  const std::string want = std::string("D\0\2\0\15app@127.0.0.3\0\15app@127.0.0.4", 33);
  EXPECT_EQ(std::string(reply.begin(), reply.end()), want);
}

TEST_F(EpmdServiceTest, MalformedRequestsCloseTheConnectionAndAreCounted) {
  struct Case {
    std::vector<std::uint8_t> bytes;
    const char* reason;
  };
  std::vector<Case> cases{
      {{0, 0}, "empty"},
      {{0x04, 0x01}, "oversized"},
      {{0, 3, 1, 2, 3}, "unknown_request"},
      {{0, 1, epmd::kKillReq}, "refused_request"},
      {{0, 1, epmd::kStopReq}, "refused_request"},
      {{0, 4, epmd::kAlive2Req, 0, 1, 77}, "alive2_truncated"},
      {{0, 5, epmd::kPortPlease2Req, 'a', '@', ' ', 'b'}, "port_please_bad_name"},
      {{0, 9, 'z'}, "truncated"},
  };
  for (const auto& c : cases) {
    auto s = connect();
    if (std::string(c.reason) == "truncated") {
      asio::write(s, asio::buffer(c.bytes));
      s.shutdown(tcp::socket::shutdown_send);
      EXPECT_TRUE(exchange(s, {}).empty());
    } else {
      EXPECT_TRUE(exchange(s, c.bytes).empty()) << c.reason;
    }
    EXPECT_GE(metrics.value("distls_epmd_errors_total", {{"reason", c.reason}}), 1u) << c.reason;
    EXPECT_NE(log_text.str().find(std::string("reason=") + c.reason), std::string::npos) << c.reason;
  }
  // Still serving.
  auto reg = connect();
  EXPECT_EQ(register_node(reg, "app", 40001)[1], 0);
}

TEST_F(EpmdServiceTest, SilentClientIsDroppedAtTheDeadline) {
  auto s = connect();
  asio::write(s, asio::buffer(std::vector<std::uint8_t>{0}));  // half a length, then nothing
  EXPECT_TRUE(exchange(s, {}).empty());
  EXPECT_EQ(metrics.value("distls_epmd_errors_total", {{"reason", "request_timeout"}}), 1u);
}

}  // namespace
}  // namespace distls
