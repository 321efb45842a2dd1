// TlsStream's handshake failure labels (distls_handshake_failures_total{reason}) with
// real OpenSSL over real loopback sockets, for the labels tunnel_test.cpp does not reach:
// each is what one kind of broken or hostile peer earns.
#include "distls/tls/tls_stream.hpp"

#include <algorithm>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "distls/tls/peer_verifier.hpp"
#include "tests/proxy/tls_test_support.hpp"

namespace distls {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using std::chrono::hours;

std::pair<tcp::socket, tcp::socket> socket_pair(asio::io_context& io) {
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket a(io), b(io);
  a.connect(acc.local_endpoint());
  acc.accept(b);
  return {std::move(a), std::move(b)};
}

class TlsStreamTest : public ::testing::Test {
 protected:
  test::TestCa ca = test::make_ca();
  asio::io_context io;

  struct Outcome {
    std::unique_ptr<TlsStream> client, server;
    error_code client_ec, server_ec;
  };

  // Both handshakes, the client dialling app@127.0.0.2; `tweak` adjusts the client's SSL
  // before it starts (what another TLS stack would offer).
  Outcome handshake(std::shared_ptr<const TlsContext> client_tls, std::shared_ptr<const TlsContext> server_tls,
                    const std::function<void(SSL*)>& tweak = {}) {
    auto [a, b] = socket_pair(io);
    Outcome o;
    o.client = std::make_unique<TlsStream>(std::move(a), client_tls, TlsStream::Role::client);
    o.server = std::make_unique<TlsStream>(std::move(b), server_tls, TlsStream::Role::server);
    EXPECT_TRUE(expect_peer_host(o.client->ssl(), *parse_node_name("app@127.0.0.2")));
    if (tweak) tweak(o.client->ssl());
    auto both = [&]() -> asio::awaitable<int> {
      using namespace asio::experimental::awaitable_operators;
      auto side = [](TlsStream& s, error_code& ec) -> asio::awaitable<void> {
        ec = co_await s.handshake();
        if (ec) s.close();  // as the listener and the dialer do: the other side must not wait
      };
      co_await (side(*o.client, o.client_ec) && side(*o.server, o.server_ec));
      co_return 0;
    };
    test::run(io, both());
    return o;
  }

  // The server's label for a client that sends `bytes` and then closes (or resets).
  std::string server_label_for_raw(const std::string& bytes, bool reset = false) {
    auto [a, b] = socket_pair(io);
    TlsStream server(std::move(b), test::tls_for(ca, "127.0.0.2"), TlsStream::Role::server);
    if (!bytes.empty()) asio::write(a, asio::buffer(bytes));
    if (reset) a.set_option(asio::socket_base::linger(true, 0));
    a.close();
    const error_code ec = test::run(io, server.handshake());
    EXPECT_TRUE(ec);
    return server.failure_label();
  }
};

TEST_F(TlsStreamTest, APeerThatLeavesMidHandshakeIsPeerClosed) {
  EXPECT_EQ(server_label_for_raw(""), "peer_closed") << "closed before a byte";
  EXPECT_EQ(server_label_for_raw("\x16\x03\x01\x02\x00\x01"), "peer_closed") << "closed within the ClientHello";
  EXPECT_EQ(server_label_for_raw("\x16\x03\x01\x02\x00\x01", true), "peer_closed") << "reset within the ClientHello";
}

TEST_F(TlsStreamTest, NonTlsBytesAreNotTls) {
  EXPECT_EQ(server_label_for_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "not_tls");
  EXPECT_EQ(server_label_for_raw("SSH-2.0-OpenSSH_9.2\r\n"), "not_tls");
}

// A TLS record that is not a ClientHello is TLS, broken: the generic label.
TEST_F(TlsStreamTest, AMalformedHandshakeIsTlsError) {
  EXPECT_EQ(server_label_for_raw(std::string("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10)), "tls_error");
}

// Either side may be the old one. The refusing side and the refused side both say
// protocol_version: the refused one learns it from the peer's alert.
TEST_F(TlsStreamTest, ATls12OnlyPeerIsProtocolVersionOnBothSides) {
  auto o = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"),
                     [](SSL* ssl) {
                       SSL_set_min_proto_version(ssl, TLS1_2_VERSION);
                       SSL_set_max_proto_version(ssl, TLS1_2_VERSION);
                     });
  EXPECT_TRUE(o.server_ec);
  EXPECT_EQ(o.server->failure_label(), "protocol_version") << o.server->failure();
  EXPECT_TRUE(o.client_ec);
  EXPECT_EQ(o.client->failure_label(), "protocol_version") << o.client->failure();
}

// Key exchange limited to X25519 and P-256 (tls_context.cpp): a client that offers none
// of them is refused with no_shared_group, and learns of it as a rejection.
TEST_F(TlsStreamTest, NoCommonGroupIsNoSharedGroupAndARejection) {
  auto o = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"),
                     [](SSL* ssl) { ASSERT_EQ(SSL_set1_groups_list(ssl, "ffdhe2048"), 1); });
  EXPECT_TRUE(o.server_ec);
  EXPECT_EQ(o.server->failure_label(), "no_shared_group") << o.server->failure();
  EXPECT_TRUE(o.client_ec);
  EXPECT_EQ(o.client->failure_label(), "rejected_by_peer") << o.client->failure();
}

// With TLS 1.2 (--tls-min 1.2) the client's handshake waits for the server's verdict on
// its certificate, so a refusal arrives during the handshake.
TEST_F(TlsStreamTest, AClientRefusedUnderTls12IsRejectedByPeer) {
  auto other = test::make_ca("other CA");
  auto tls12 = [](const test::TestCa& issuer, const std::string& host, const test::TestCa& trust) {
    return TlsContext::build(test::identity_for(issuer, host, &trust), TlsOptions{TLS1_2_VERSION});
  };
  auto o = handshake(tls12(other, "127.0.0.3", ca), tls12(ca, "127.0.0.2", ca),
                     [](SSL* ssl) { SSL_set_max_proto_version(ssl, TLS1_2_VERSION); });
  EXPECT_TRUE(o.server_ec);
  EXPECT_EQ(o.server->failure_label(), "untrusted_chain");
  EXPECT_TRUE(o.client_ec);
  EXPECT_EQ(o.client->failure_label(), "rejected_by_peer") << o.client->failure();
}

TEST_F(TlsStreamTest, AnExpiredPeerCertificateIsCertExpired) {
  auto expired = test::tls_valid_between(ca, "127.0.0.2", -std::chrono::seconds(hours(2)),
                                         -std::chrono::seconds(hours(1)));
  auto o = handshake(test::tls_for(ca, "127.0.0.3"), expired);
  EXPECT_TRUE(o.client_ec);
  EXPECT_EQ(o.client->failure_label(), "cert_expired");
}

TEST_F(TlsStreamTest, ANotYetValidPeerCertificateIsCertNotYetValid) {
  auto early = test::tls_valid_between(ca, "127.0.0.3", std::chrono::seconds(hours(1)),
                                       std::chrono::seconds(hours(2)));
  auto o = handshake(early, test::tls_for(ca, "127.0.0.2"));
  EXPECT_TRUE(o.server_ec);
  EXPECT_EQ(o.server->failure_label(), "cert_not_yet_valid");
}

// A leaf issued by another leaf (CA:FALSE) chains to the trusted root by signatures
// alone; verification refuses the non-CA issuer, and the label is the catch-all.
TEST_F(TlsStreamTest, ALeafIssuedByANonCaIsCertInvalid) {
  auto fake_ca_key = pem::generate_ec_p256();
  auto fake_ca = test::make_leaf(ca, fake_ca_key.get(), "127.0.0.9");
  Identity id;
  id.key = pem::generate_ec_p256();
  certs::LeafSpec spec;
  spec.common_name = "app@127.0.0.3";
  spec.sans = certs::sans_for_host("127.0.0.3");
  spec.ttl = std::chrono::hours(1);
  id.chain.push_back(certs::sign_leaf(spec, id.key.get(), fake_ca.get(), fake_ca_key.get()));
  id.chain.push_back(ossl::share(fake_ca.get()));
  id.trust.push_back(ossl::share(ca.cert.get()));
  auto o = handshake(TlsContext::build(id, TlsOptions{}), test::tls_for(ca, "127.0.0.2"));
  EXPECT_TRUE(o.server_ec);
  EXPECT_EQ(o.server->failure_label(), "cert_invalid") << o.server->failure();
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

class TlsStreamDataTest : public TlsStreamTest {
 protected:
  Outcome connected() {
    auto o = handshake(test::tls_for(ca, "127.0.0.3"), test::tls_for(ca, "127.0.0.2"));
    EXPECT_FALSE(o.client_ec) << o.client->failure();
    EXPECT_FALSE(o.server_ec) << o.server->failure();
    return o;
  }
};

asio::awaitable<void> read_all(TlsStream& s, std::vector<std::uint8_t>& into, std::size_t n) {
  std::vector<std::uint8_t> buf(65536);
  while (into.size() < n) {
    auto [ec, got] = co_await s.read_some(asio::buffer(buf));
    if (ec) co_return;
    into.insert(into.end(), buf.begin(), buf.begin() + static_cast<long>(got));
  }
}

// One SSL_write of many records leaves as one write, not one per 16 KiB record; the
// ciphertext buffer is freed once sent.
TEST_F(TlsStreamDataTest, ManyRecordsLeaveInOneWrite) {
  auto o = connected();
  std::vector<std::uint8_t> data(100 * 1024, 0x5a), got;
  const auto before = o.server->writes();
  auto both = [&]() -> asio::awaitable<int> {
    using namespace asio::experimental::awaitable_operators;
    auto write = [&]() -> asio::awaitable<void> { EXPECT_FALSE(co_await o.server->write_all(asio::buffer(data))); };
    co_await (write() && read_all(*o.client, got, data.size()));
    co_return 0;
  };
  test::run(io, both());
  EXPECT_TRUE(got == data);
  EXPECT_EQ(o.server->writes() - before, 1u);
  EXPECT_EQ(o.server->queued_capacity(), 0u);
}

// While the writer's large write is stuck on a full socket, the reader meets a forged
// record and OpenSSL queues a bad_record_mac alert: output produced while reading. It
// is left to the write in flight (one writer on the socket at a time) and goes out
// after it, so the client still decrypts every byte of the bulk and then reads the
// alert. (OpenSSL 3 answers a KeyUpdate with the next write, not while reading: alerts
// are what reading produces.) Two writes side by side on the socket would interleave
// mid-record and the client would fail to decrypt the bulk.
TEST_F(TlsStreamDataTest, OutputWhileReadingWaitsForTheWriteInFlight) {
  auto o = connected();
  // Far beyond what loopback socket buffers hold, so the server's write stays in flight.
  std::vector<std::uint8_t> bulk(32 * 1024 * 1024);
  for (std::size_t i = 0; i < bulk.size(); ++i) bulk[i] = static_cast<std::uint8_t>(i * 13 + i / 512);
  std::vector<std::uint8_t> at_client;
  error_code write_ec{asio::error::would_block}, server_read_ec, client_end;
  bool server_read_done = false;
  auto scenario = [&]() -> asio::awaitable<int> {
    using namespace asio::experimental::awaitable_operators;
    auto server_write = [&]() -> asio::awaitable<void> { write_ec = co_await o.server->write_all(asio::buffer(bulk)); };
    auto server_read = [&]() -> asio::awaitable<void> {
      char buf[64];
      auto [ec, n] = co_await o.server->read_some(asio::buffer(buf));
      server_read_ec = ec;
      server_read_done = true;
    };
    auto client = [&]() -> asio::awaitable<void> {
      // A bounded number of loop turns, no clock: until the server's write is stuck.
      for (int turn = 0; turn < 100000 && o.server->queued_capacity() == 0; ++turn)
        co_await asio::post(io, asio::use_awaitable);
      EXPECT_GT(o.server->queued_capacity(), 0u);
      // An application_data record of TLS 1.3 whose tag cannot verify.
      const std::uint8_t forged[] = {0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                     15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
      co_await asio::async_write(o.client->socket(), asio::buffer(forged), asio::as_tuple(asio::use_awaitable));
      for (int turn = 0; turn < 100000 && !server_read_done; ++turn) co_await asio::post(io, asio::use_awaitable);
      EXPECT_EQ(write_ec, asio::error::would_block) << "the bulk write finished before the client read any";
      co_await read_all(*o.client, at_client, bulk.size());
      char c;
      client_end = (co_await o.client->read_some(asio::buffer(&c, 1))).first;
    };
    co_await (server_write() && server_read() && client());
    co_return 0;
  };
  test::run(io, scenario());
  EXPECT_TRUE(server_read_ec) << "the forged record was accepted";
  EXPECT_FALSE(write_ec) << write_ec.message();
  ASSERT_EQ(at_client.size(), bulk.size());
  EXPECT_TRUE(at_client == bulk);
  EXPECT_GE(o.server->handed_to_writer(), 1u);
  EXPECT_TRUE(client_end);
  EXPECT_NE(o.client->failure().find("bad record mac"), std::string::npos) << o.client->failure();
  EXPECT_EQ(o.server->queued_capacity(), 0u);
}

// A record that cannot verify right behind data, in one read: the data is delivered,
// and the next read fails with the reason (it was once cleared with the data and the
// next read said only "End of file").
TEST_F(TlsStreamDataTest, AnErrorRightBehindDataIsReportedByTheNextRead) {
  auto o = connected();
  std::string got;
  error_code first_ec, second_ec;
  auto scenario = [&]() -> asio::awaitable<int> {
    EXPECT_FALSE(co_await o.server->write_all(asio::buffer("hello", 5)));
    const std::uint8_t forged[] = {0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                   15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    co_await asio::async_write(o.server->socket(), asio::buffer(forged), asio::as_tuple(asio::use_awaitable));
    char buf[64];
    auto [ec, n] = co_await o.client->read_some(asio::buffer(buf));
    first_ec = ec;
    got.assign(buf, n);
    second_ec = (co_await o.client->read_some(asio::buffer(buf))).first;
    co_return 0;
  };
  test::run(io, scenario());
  EXPECT_FALSE(first_ec) << first_ec.message();
  EXPECT_EQ(got, "hello");
  EXPECT_TRUE(second_ec);
  EXPECT_NE(second_ec, asio::error::eof);
  EXPECT_NE(o.client->failure().find("bad record mac"), std::string::npos) << o.client->failure();
}

// KeyUpdates asked for by each side in turn, data both ways after each.
TEST_F(TlsStreamDataTest, KeyUpdateEitherWay) {
  auto o = connected();
  std::vector<std::uint8_t> got;
  auto exchange = [&](TlsStream& from, TlsStream& to, std::string_view text) -> asio::awaitable<std::string> {
    using namespace asio::experimental::awaitable_operators;
    std::string out;
    auto write = [&]() -> asio::awaitable<void> { EXPECT_FALSE(co_await from.write_all(asio::buffer(text))); };
    auto read = [&]() -> asio::awaitable<void> {
      std::vector<std::uint8_t> g;
      co_await read_all(to, g, text.size());
      out.assign(g.begin(), g.end());
    };
    co_await (write() && read());
    co_return out;
  };
  auto scenario = [&]() -> asio::awaitable<int> {
    EXPECT_EQ(SSL_key_update(o.client->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
    EXPECT_EQ(co_await exchange(*o.client, *o.server, "client updated"), "client updated");
    EXPECT_EQ(co_await exchange(*o.server, *o.client, "server answered"), "server answered");
    EXPECT_EQ(SSL_key_update(o.server->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
    EXPECT_EQ(co_await exchange(*o.server, *o.client, "server updated"), "server updated");
    EXPECT_EQ(co_await exchange(*o.client, *o.server, "client answered"), "client answered");
    co_return 0;
  };
  test::run(io, scenario());
  EXPECT_EQ(SSL_get_key_update_type(o.client->ssl()), SSL_KEY_UPDATE_NONE);
  EXPECT_EQ(SSL_get_key_update_type(o.server->ssl()), SSL_KEY_UPDATE_NONE);
}

}  // namespace
}  // namespace distls
