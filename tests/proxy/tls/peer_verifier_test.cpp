#include "distls/tls/peer_verifier.hpp"

#include <gtest/gtest.h>

#include "tests/proxy/tls_test_support.hpp"

namespace distls {
namespace {

using test::make_ca;
using test::make_leaf;

NodeName node(const std::string& full) { return *parse_node_name(full); }

TEST(PeerVerifier, IpSanMatchesOnlyThatAddress) {
  auto ca = make_ca();
  auto key = pem::generate_ec_p256();
  auto cert = make_leaf(ca, key.get(), "10.0.0.5");
  EXPECT_TRUE(cert_matches_host(cert.get(), node("app@10.0.0.5")));
  EXPECT_TRUE(cert_matches_host(cert.get(), node("other@10.0.0.5")));  // identity is the host
  EXPECT_FALSE(cert_matches_host(cert.get(), node("app@10.0.0.6")));
  EXPECT_FALSE(cert_matches_host(cert.get(), node("app@10.0.0.50")));
  // An IP SAN never matches a DNS name that spells it, nor the reverse.
  EXPECT_FALSE(cert_matches_host(cert.get(), node("app@pod-10-0-0-5.ns")));
}

TEST(PeerVerifier, Ipv6SanComparesAddresses) {
  auto ca = make_ca();
  auto key = pem::generate_ec_p256();
  auto cert = make_leaf(ca, key.get(), "fd00::5");
  EXPECT_TRUE(cert_matches_host(cert.get(), node("app@fd00:0:0::5")));
  EXPECT_FALSE(cert_matches_host(cert.get(), node("app@fd00::6")));
}

TEST(PeerVerifier, DnsSanExactNoWildcardNoCn) {
  auto ca = make_ca();
  auto key = pem::generate_ec_p256();
  auto cert = make_leaf(ca, key.get(), "app-0.app.ns.svc");
  EXPECT_TRUE(cert_matches_host(cert.get(), node("app@APP-0.app.ns.svc")));
  EXPECT_FALSE(cert_matches_host(cert.get(), node("app@app-1.app.ns.svc")));
  EXPECT_FALSE(cert_matches_host(cert.get(), node("app@app.ns.svc")));

  certs::LeafSpec wild;
  wild.common_name = "app-1.app.ns.svc";  // the CN must never count
  wild.sans.dns = {"*.app.ns.svc"};
  auto wcert = certs::sign_leaf(wild, key.get(), ca.cert.get(), ca.key.get());
  EXPECT_FALSE(cert_matches_host(wcert.get(), node("app@app-1.app.ns.svc")));
  EXPECT_FALSE(cert_matches_host(nullptr, node("app@app-1.app.ns.svc")));
}

TEST(PeerVerifier, ClassifiesVerifyResults) {
  EXPECT_EQ(classify_verify_failure(X509_V_ERR_CERT_HAS_EXPIRED), "cert_expired");
  EXPECT_EQ(classify_verify_failure(X509_V_ERR_CERT_NOT_YET_VALID), "cert_not_yet_valid");
  EXPECT_EQ(classify_verify_failure(X509_V_ERR_IP_ADDRESS_MISMATCH), "name_mismatch");
  EXPECT_EQ(classify_verify_failure(X509_V_ERR_INVALID_PURPOSE), "bad_usage");
  EXPECT_EQ(classify_verify_failure(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY), "untrusted_chain");
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

TEST(PeerVerifier, AllowListOfUriSans) {
  auto ca = test::make_ca();
  auto key = pem::generate_ec_p256();
  certs::LeafSpec spec;
  spec.common_name = "app@10.0.0.5";
  spec.sans = certs::sans_for_host("10.0.0.5");
  spec.sans.uris = {"spiffe://cluster.local/ns/shop/sa/app"};
  auto cert = certs::sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get());
  auto bare = test::make_leaf(ca, key.get());
  EXPECT_TRUE(cert_allowed(bare.get(), {})) << "no list: every verified peer";
  EXPECT_TRUE(cert_allowed(cert.get(), {"spiffe://cluster.local/ns/shop/sa/app"}));
  EXPECT_TRUE(cert_allowed(cert.get(), {"spiffe://other/x", "spiffe://cluster.local/ns/shop/*"}));
  EXPECT_FALSE(cert_allowed(cert.get(), {"spiffe://cluster.local/ns/shop/sa/admin"}));
  EXPECT_FALSE(cert_allowed(cert.get(), {"spiffe://cluster.local/ns/shop/sa/ap"})) << "exact unless '*'";
  EXPECT_FALSE(cert_allowed(bare.get(), {"spiffe://cluster.local/*"})) << "no URI SAN at all";
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

TEST(PeerVerifier, AllowListPrefixesEndAtASegment) {
  auto ca = test::make_ca();
  auto key = pem::generate_ec_p256();
  auto leaf_with_uri = [&](const std::string& uri) {
    certs::LeafSpec spec;
    spec.common_name = "app@10.0.0.5";
    spec.sans = certs::sans_for_host("10.0.0.5");
    spec.sans.uris = {uri};
    return certs::sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get());
  };
  auto shop = leaf_with_uri("spiffe://cluster.local/ns/shop/sa/app");
  auto shopping = leaf_with_uri("spiffe://cluster.local/ns/shopping/sa/app");
  auto other_td = leaf_with_uri("spiffe://cluster.localhost/ns/shop/sa/app");
  for (const std::string prefix : {"spiffe://cluster.local/ns/shop/*", "spiffe://cluster.local/ns/shop*"}) {
    EXPECT_TRUE(cert_allowed(shop.get(), {prefix})) << prefix;
    EXPECT_FALSE(cert_allowed(shopping.get(), {prefix})) << prefix;
  }
  EXPECT_TRUE(cert_allowed(shop.get(), {"spiffe://cluster.local*"}));
  EXPECT_FALSE(cert_allowed(other_td.get(), {"spiffe://cluster.local*"})) << "the trust domain is a segment too";
  EXPECT_FALSE(cert_allowed(other_td.get(), {"spiffe://cluster.local/*"}));
}

TEST(PeerVerifier, UsageMustBePresentForTheRole) {
  auto ca = test::make_ca();
  auto key = pem::generate_ec_p256();
  auto both = test::make_leaf(ca, key.get());
  auto none = test::with_eku(ca, both.get(), "");
  auto server_only = test::with_eku(ca, both.get(), "serverAuth");
  auto client_only = test::with_eku(ca, both.get(), "clientAuth");
  EXPECT_TRUE(has_required_usage(both.get(), PeerRole::client));
  EXPECT_TRUE(has_required_usage(both.get(), PeerRole::server));
  EXPECT_FALSE(has_required_usage(none.get(), PeerRole::client));
  EXPECT_FALSE(has_required_usage(none.get(), PeerRole::server));
  EXPECT_FALSE(has_required_usage(server_only.get(), PeerRole::client));
  EXPECT_TRUE(has_required_usage(server_only.get(), PeerRole::server));
  EXPECT_TRUE(has_required_usage(client_only.get(), PeerRole::client));
  EXPECT_FALSE(has_required_usage(client_only.get(), PeerRole::server));
  EXPECT_FALSE(has_required_usage(nullptr, PeerRole::client));
}

TEST(PeerVerifier, ReverifyJudgesTrustAndUsageNotExpiry) {
  auto ca = test::make_ca("old CA");
  auto next = test::make_ca("new CA");
  auto key = pem::generate_ec_p256();
  auto leaf = test::make_leaf(ca, key.get());
  auto store_of = [](std::initializer_list<const test::TestCa*> cas) {
    ossl::X509Store store{X509_STORE_new()};
    for (const auto* c : cas) X509_STORE_add_cert(store.get(), c->cert.get());
    return store;
  };
  auto old_only = store_of({&ca});
  auto new_only = store_of({&next});
  auto both = store_of({&ca, &next});
  EXPECT_FALSE(reverify_peer(old_only.get(), leaf.get(), nullptr, PeerRole::client));
  EXPECT_FALSE(reverify_peer(both.get(), leaf.get(), nullptr, PeerRole::server));
  const auto gone = reverify_peer(new_only.get(), leaf.get(), nullptr, PeerRole::client);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->reason, "untrusted_chain");

  // A certificate that has expired since the handshake still chains: short-lived
  // certificates outlive their tunnels' handshakes routinely.
  certs::LeafSpec spec;
  spec.common_name = "app@10.0.0.5";
  spec.sans = certs::sans_for_host("10.0.0.5");
  spec.ttl = std::chrono::seconds(1);
  spec.backdate = std::chrono::seconds(3600);
  auto expired = certs::sign_leaf(spec, key.get(), ca.cert.get(), ca.key.get());
  EXPECT_FALSE(reverify_peer(old_only.get(), expired.get(), nullptr, PeerRole::client));

  auto no_eku = test::with_eku(ca, leaf.get(), "");
  const auto usage = reverify_peer(old_only.get(), no_eku.get(), nullptr, PeerRole::client);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->reason, "bad_usage");
  EXPECT_EQ(reverify_peer(old_only.get(), nullptr, nullptr, PeerRole::client)->reason, "no_peer_cert");
}

}  // namespace
}  // namespace distls
