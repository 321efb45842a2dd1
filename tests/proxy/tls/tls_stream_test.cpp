// TlsStream's handshake failure labels (distls_handshake_failures_total{reason}) with
// real OpenSSL over real loopback sockets, for the labels tunnel_test.cpp does not reach:
// each is what one kind of broken or hostile peer earns.
#include "distls/tls/tls_stream.hpp"

#include <thread>

#include <boost/asio/experimental/awaitable_operators.hpp>
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
