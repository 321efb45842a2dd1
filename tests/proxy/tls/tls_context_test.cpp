#include "distls/tls/tls_context.hpp"

#include <openssl/err.h>

#include <gtest/gtest.h>

#include "tests/proxy/tls_test_support.hpp"

namespace distls {
namespace {

std::vector<std::string> subjects(STACK_OF(X509) * chain) {
  std::vector<std::string> out;
  for (int i = 0; chain && i < sk_X509_num(chain); ++i)
    out.push_back(name_text(X509_get_subject_name(sk_X509_value(chain, i))));
  return out;
}

// The chain a context presents, built once when it was made (a non-null stack):
// OpenSSL builds one per handshake, verifying our own leaf each time, when it is null.
std::vector<std::string> prebuilt_chain(SSL_CTX* ctx) {
  STACK_OF(X509)* chain = nullptr;
  EXPECT_EQ(SSL_CTX_get0_chain_certs(ctx, &chain), 1);
  EXPECT_NE(chain, nullptr) << "no chain built: OpenSSL would build and verify one per handshake";
  return subjects(chain);
}

// A full handshake between two contexts over memory BIOs; the subjects of the chain
// each side received (leaf first), or empty when the handshake failed.
struct Received {
  std::vector<std::string> by_client, by_server;
  bool ok = false;
};

Received handshake(const TlsContext& server_side, const TlsContext& client_side) {
  ossl::Ssl server{SSL_new(server_side.server())}, client{SSL_new(client_side.client())};
  BIO *server_bio = nullptr, *client_bio = nullptr;
  EXPECT_EQ(BIO_new_bio_pair(&server_bio, 0, &client_bio, 0), 1);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client.get());
  Received r;
  bool server_done = false, client_done = false;
  for (int round = 0; round < 20 && !(server_done && client_done); ++round) {
    for (auto [ssl, done] : {std::pair{client.get(), &client_done}, std::pair{server.get(), &server_done}}) {
      if (*done) continue;
      const int rc = SSL_do_handshake(ssl);
      if (rc == 1) {
        *done = true;
        continue;
      }
      const int err = SSL_get_error(ssl, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return r;
      }
    }
  }
  // TLS 1.3: the server's view of the client's certificate is final once both are done.
  r.ok = server_done && client_done;
  r.by_client = subjects(SSL_get_peer_cert_chain(client.get()));  // leaf first
  r.by_server = subjects(SSL_get_peer_cert_chain(server.get()));  // without the leaf
  if (X509* leaf = SSL_get0_peer_certificate(server.get()))
    r.by_server.insert(r.by_server.begin(), name_text(X509_get_subject_name(leaf)));
  ERR_clear_error();
  return r;
}

TEST(TlsContextTest, ChainIsBuiltOnceAndLeavesOutTheRoot) {
  auto ca = test::make_ca("root CA");
  auto a = TlsContext::build(test::identity_for(ca, "127.0.0.2"), TlsOptions{});
  auto b = TlsContext::build(test::identity_for(ca, "127.0.0.3"), TlsOptions{});
  EXPECT_TRUE(prebuilt_chain(a->server()).empty());
  EXPECT_TRUE(prebuilt_chain(a->client()).empty());

  const auto got = handshake(*a, *b);
  ASSERT_TRUE(got.ok);
  // Each side presents its leaf alone: the root is in every peer's bundle already, and
  // sending it costs the peer the parsing of one more certificate per handshake.
  EXPECT_EQ(got.by_client, std::vector<std::string>{"CN=app@127.0.0.2,O=distls"});
  EXPECT_EQ(got.by_server, std::vector<std::string>{"CN=app@127.0.0.3,O=distls"});
}

TEST(TlsContextTest, IntermediatesFromTheBundleOrTheSourceAreSent) {
  auto root = test::make_ca("root CA");
  auto mid = test::make_intermediate(root, "issuing CA");

  // The cert source gave the leaf alone; the bundle holds the intermediate.
  Identity from_bundle;
  from_bundle.key = pem::generate_ec_p256();
  from_bundle.chain.push_back(test::make_leaf(mid, from_bundle.key.get(), "127.0.0.2"));
  from_bundle.trust.push_back(ossl::share(root.cert.get()));
  from_bundle.trust.push_back(ossl::share(mid.cert.get()));
  from_bundle.validate();
  auto a = TlsContext::build(from_bundle, TlsOptions{});
  EXPECT_EQ(prebuilt_chain(a->server()), std::vector<std::string>{"CN=issuing CA,O=distls"});
  EXPECT_EQ(prebuilt_chain(a->client()), std::vector<std::string>{"CN=issuing CA,O=distls"});

  // The cert source sent the intermediate along; the bundle has the root only.
  Identity from_source;
  from_source.key = pem::generate_ec_p256();
  from_source.chain.push_back(test::make_leaf(mid, from_source.key.get(), "127.0.0.3"));
  from_source.chain.push_back(ossl::share(mid.cert.get()));
  from_source.trust.push_back(ossl::share(root.cert.get()));
  from_source.validate();
  auto b = TlsContext::build(from_source, TlsOptions{});
  EXPECT_EQ(prebuilt_chain(b->server()), std::vector<std::string>{"CN=issuing CA,O=distls"});

  // A peer that trusts the root alone needs the intermediate from the wire, both ways.
  const auto got = handshake(*b, *a);
  ASSERT_TRUE(got.ok);
  EXPECT_EQ(got.by_client, (std::vector<std::string>{"CN=app@127.0.0.3,O=distls", "CN=issuing CA,O=distls"}));
  EXPECT_EQ(got.by_server, (std::vector<std::string>{"CN=app@127.0.0.2,O=distls", "CN=issuing CA,O=distls"}));
}

TEST(TlsContextTest, AChainThatDoesNotVerifyIsStillPresentedForThePeerToRefuse) {
  // Tests (and a misconfigured peer) present certificates their own bundle does not
  // cover; the context builds, and the refusal happens where it belongs, at the peer.
  auto ca = test::make_ca("root CA");
  auto other = test::make_ca("other CA");
  ERR_clear_error();
  auto rogue = test::tls_for(other, "127.0.0.9", &ca);
  EXPECT_EQ(ERR_peek_error(), 0u) << "building left OpenSSL errors queued for the next caller";
  EXPECT_TRUE(prebuilt_chain(rogue->client()).empty());
  auto server = test::tls_for(ca, "127.0.0.2");
  EXPECT_FALSE(handshake(*server, *rogue).ok);
}

}  // namespace
}  // namespace distls
