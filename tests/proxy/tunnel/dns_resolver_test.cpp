// c-ares on the event loop against a tiny DNS server inside the test, for what a real
// server will not do on demand: SERVFAIL, silence, truncation. (The integration tests
// use a real dnsmasq for the normal cases.)
#include "distls/tunnel/dns_resolver.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
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
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t kA = 1, kAAAA = 28, kSRV = 33;

struct Question {
  std::uint16_t id = 0;
  std::string name;
  std::uint16_t type = 0;
  Bytes raw;  // the question section, echoed back
};

std::optional<Question> parse_question(const Bytes& q) {
  if (q.size() < 17) return std::nullopt;
  Question out;
  out.id = static_cast<std::uint16_t>(q[0] << 8 | q[1]);
  std::size_t i = 12;
  while (i < q.size() && q[i] != 0) {
    if (!out.name.empty()) out.name += '.';
    out.name.append(reinterpret_cast<const char*>(&q[i + 1]), q[i]);
    i += q[i] + 1;
  }
  if (i + 5 > q.size()) return std::nullopt;
  out.type = static_cast<std::uint16_t>(q[i + 1] << 8 | q[i + 2]);
  out.raw.assign(q.begin() + 12, q.begin() + static_cast<long>(i) + 5);
  return out;
}

void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

void put_name(Bytes& b, const std::string& name) {
  std::size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    b.push_back(static_cast<std::uint8_t>(dot - start));
    b.insert(b.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  b.push_back(0);
}

struct Record {
  std::uint16_t type;
  Bytes rdata;
};

Bytes response(const Question& q, int rcode, const std::vector<Record>& answers, bool truncated = false) {
  Bytes b;
  put16(b, q.id);
  put16(b, static_cast<std::uint16_t>(0x8400 | (truncated ? 0x0200 : 0) | rcode));  // QR, AA
  put16(b, 1);
  put16(b, static_cast<std::uint16_t>(answers.size()));
  put16(b, 0);
  put16(b, 0);
  b.insert(b.end(), q.raw.begin(), q.raw.end());
  for (const auto& r : answers) {
    put16(b, 0xc00c);  // the name in the question
    put16(b, r.type);
    put16(b, 1);
    put16(b, 0);
    put16(b, 30);
    put16(b, static_cast<std::uint16_t>(r.rdata.size()));
    b.insert(b.end(), r.rdata.begin(), r.rdata.end());
  }
  return b;
}

Record a(std::uint8_t last) { return {kA, {10, 0, 0, last}}; }
Record srv(std::uint16_t prio, std::uint16_t weight, const std::string& target) {
  Bytes rd;
  put16(rd, prio);
  put16(rd, weight);
  put16(rd, 4370);
  put_name(rd, target);
  return {kSRV, rd};
}

// What the test server answers, by name. std::nullopt: no answer at all.
std::optional<Bytes> answer(const Question& q, bool over_tcp) {
  const bool addr = q.type == kA || q.type == kAAAA;
  if (q.name == "ok.test") {
    if (q.type == kA) return response(q, 0, {a(1), a(2)});
    return response(q, 0, {});  // NODATA for AAAA
  }
  if (q.name == "v6.test") {
    if (q.type == kAAAA) return response(q, 0, {{kAAAA, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}}});
    return response(q, 0, {});
  }
  if (q.name == "nxdomain.test") return response(q, 3, {});
  if (q.name == "servfail.test") return response(q, 2, {});
  if (q.name == "half-servfail.test") return q.type == kA ? response(q, 0, {a(1)}) : response(q, 2, {});
  if (q.name == "empty.test") return response(q, 0, {});
  if (q.name == "silent.test") return std::nullopt;
  if (q.name == "truncated.test" && addr) {
    if (!over_tcp) return response(q, 0, {a(9)}, /*truncated=*/true);
    std::vector<Record> many;
    for (std::uint8_t i = 1; i <= 40; ++i) many.push_back(a(i));
    return q.type == kA ? response(q, 0, many) : response(q, 0, {});
  }
  if (q.name == "_erlang._tcp.srv.test" && q.type == kSRV)
    return response(q, 0, {srv(20, 5, "c.srv.test"), srv(10, 1, "b.srv.test"), srv(10, 9, "a.srv.test")});
  return response(q, 3, {});
}

class DnsResolverTest : public ::testing::Test {
 protected:
  asio::io_context io;
  udp::socket udp_sock{io};
  tcp::acceptor tcp_acc{io};
  int udp_queries = 0, tcp_queries = 0;

  // The test DNS server's coroutines end quietly or fail the test, never silently.
  static auto fail_on_exception(const char* what) {
    return [what](std::exception_ptr e) {
      if (e) ADD_FAILURE() << "the test DNS server's " << what << " coroutine ended with an exception";
    };
  }

  void SetUp() override {
    // One port number for both, as a DNS server has: a free UDP port may be taken for
    // TCP (another test's connection), so try again with another until both bind.
    for (int attempt = 0; attempt < 100 && !tcp_acc.is_open(); ++attempt) {
      boost::system::error_code ec;
      if (udp_sock.is_open()) udp_sock.close(ec);
      udp_sock.open(udp::v4());
      udp_sock.bind(udp::endpoint(asio::ip::address_v4::loopback(), 0));
      tcp_acc.open(tcp::v4());
      tcp_acc.set_option(asio::socket_base::reuse_address(true));
      tcp_acc.bind(tcp::endpoint(asio::ip::address_v4::loopback(), udp_sock.local_endpoint().port()), ec);
      if (ec) tcp_acc.close(ec);
    }
    ASSERT_TRUE(tcp_acc.is_open()) << "no port free for both UDP and TCP";
    tcp_acc.listen();
    asio::co_spawn(io, serve_udp(), fail_on_exception("udp"));
    asio::co_spawn(io, serve_tcp(), fail_on_exception("tcp"));
  }

  asio::awaitable<void> serve_udp() {
    Bytes buf(512);
    for (;;) {
      udp::endpoint from;
      auto [ec, n] = co_await udp_sock.async_receive_from(asio::buffer(buf), from, as_tuple(use_awaitable));
      if (ec) co_return;
      ++udp_queries;
      auto q = parse_question(Bytes(buf.begin(), buf.begin() + static_cast<long>(n)));
      if (!q) continue;
      if (auto r = answer(*q, false)) co_await udp_sock.async_send_to(asio::buffer(*r), from, as_tuple(use_awaitable));
    }
  }

  asio::awaitable<void> serve_tcp() {
    for (;;) {
      auto [ec, s] = co_await tcp_acc.async_accept(as_tuple(use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io, serve_conn(std::move(s)), fail_on_exception("tcp connection"));
    }
  }

  asio::awaitable<void> serve_conn(tcp::socket s) {
    for (;;) {
      std::uint8_t len[2];
      auto [ec, n] = co_await asio::async_read(s, asio::buffer(len), as_tuple(use_awaitable));
      if (ec) co_return;
      Bytes q(static_cast<std::size_t>(len[0] << 8 | len[1]));
      auto [ec2, n2] = co_await asio::async_read(s, asio::buffer(q), as_tuple(use_awaitable));
      if (ec2) co_return;
      ++tcp_queries;
      auto parsed = parse_question(q);
      if (!parsed) co_return;
      auto r = answer(*parsed, true);
      if (!r) continue;
      Bytes framed;
      put16(framed, static_cast<std::uint16_t>(r->size()));
      framed.insert(framed.end(), r->begin(), r->end());
      co_await asio::async_write(s, asio::buffer(framed), as_tuple(use_awaitable));
    }
  }

  DnsResolver resolver() {
    return DnsResolver(io.get_executor(),
                       {"127.0.0.1:" + std::to_string(udp_sock.local_endpoint().port()), std::chrono::milliseconds(300), 1});
  }
};

std::vector<std::string> texts(const DnsAnswer& a) {
  std::vector<std::string> out;
  for (const auto& x : a.addresses) out.push_back(x.to_string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(DnsResolverTest, AddressesFromAWithEmptyAaaa) {
  auto r = resolver();
  auto ans = test::run(io, r.addresses("ok.test"));
  ASSERT_TRUE(ans.ok()) << ans.error << " " << ans.detail;
  EXPECT_EQ(texts(ans), (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  ans = test::run(io, r.addresses("v6.test"));
  ASSERT_TRUE(ans.ok()) << ans.error;
  EXPECT_EQ(texts(ans), (std::vector<std::string>{"fd00::5"}));
}

TEST_F(DnsResolverTest, FailuresAreDataWithStableLabels) {
  auto r = resolver();
  EXPECT_EQ(test::run(io, r.addresses("nxdomain.test")).error, "nxdomain");
  EXPECT_EQ(test::run(io, r.addresses("servfail.test")).error, "servfail");
  EXPECT_EQ(test::run(io, r.addresses("empty.test")).error, "nodata");
  // One family failing hard fails the lookup (a partial answer could shrink the peer
  // set), but keeps what the other family found, marked partial: discovery uses it when
  // it has nothing better.
  auto half = test::run(io, r.addresses("half-servfail.test"));
  EXPECT_EQ(half.error, "servfail");
  EXPECT_TRUE(half.partial);
  EXPECT_EQ(texts(half), (std::vector<std::string>{"10.0.0.1"}));
  EXPECT_FALSE(test::run(io, r.addresses("servfail.test")).partial);
}

TEST_F(DnsResolverTest, OneFamilyAsksOneQuestion) {
  auto r = resolver();
  const auto before = udp_queries;
  auto v4 = test::run(io, r.addresses("half-servfail.test", AddressFamilies::v4));
  ASSERT_TRUE(v4.ok()) << v4.error;
  EXPECT_EQ(texts(v4), (std::vector<std::string>{"10.0.0.1"}));
  EXPECT_EQ(udp_queries - before, 1) << "an AAAA question was asked too";
  EXPECT_EQ(test::run(io, r.addresses("half-servfail.test", AddressFamilies::v6)).error, "servfail");
  auto v6 = test::run(io, r.addresses("v6.test", AddressFamilies::v6));
  ASSERT_TRUE(v6.ok()) << v6.error;
  EXPECT_EQ(texts(v6), (std::vector<std::string>{"fd00::5"}));
  EXPECT_EQ(test::run(io, r.addresses("v6.test", AddressFamilies::v4)).error, "nodata");
}

TEST_F(DnsResolverTest, SilenceTimesOut) {
  auto r = resolver();
  auto ans = test::run(io, r.addresses("silent.test"));
  EXPECT_EQ(ans.error, "timeout") << ans.detail;
  // And the resolver still works afterwards.
  EXPECT_TRUE(test::run(io, r.addresses("ok.test")).ok());
}

TEST_F(DnsResolverTest, TruncatedAnswerIsRetriedOverTcp) {
  auto r = resolver();
  auto ans = test::run(io, r.addresses("truncated.test"));
  ASSERT_TRUE(ans.ok()) << ans.error << " " << ans.detail;
  EXPECT_EQ(ans.addresses.size(), 40u);
  EXPECT_GE(tcp_queries, 1);
}

TEST_F(DnsResolverTest, TruncatedAnswerWithoutTcpFails) {
  tcp_acc.close();
  auto r = resolver();
  auto ans = test::run(io, r.addresses("truncated.test"));
  EXPECT_FALSE(ans.ok());
  EXPECT_TRUE(ans.addresses.empty());
}

TEST_F(DnsResolverTest, SrvSortedByPriorityThenWeight) {
  auto r = resolver();
  auto ans = test::run(io, r.srv("_erlang._tcp.srv.test"));
  ASSERT_TRUE(ans.ok()) << ans.error;
  ASSERT_EQ(ans.targets.size(), 3u);
  EXPECT_EQ(ans.targets[0].host, "a.srv.test");
  EXPECT_EQ(ans.targets[1].host, "b.srv.test");
  EXPECT_EQ(ans.targets[2].host, "c.srv.test");
  EXPECT_EQ(ans.targets[0].port, 4370);
}

TEST_F(DnsResolverTest, ManyLookupsAtOnce) {
  auto r = resolver();
  auto many = [&]() -> asio::awaitable<int> {
    using namespace asio::experimental::awaitable_operators;
    auto one = [&]() -> asio::awaitable<bool> { co_return (co_await r.addresses("ok.test")).ok(); };
    auto [x, y, z] = co_await (one() && one() && one());
    co_return int(x) + int(y) + int(z);
  };
  EXPECT_EQ(test::run(io, many()), 3);
}

TEST(DnsResolver, BadServerListIsAStartupError) {
  asio::io_context io;
  EXPECT_THROW(DnsResolver(io.get_executor(), {"not an address"}), std::runtime_error);
}

}  // namespace
}  // namespace distls
