#include "tests/k8s/http/serving_identity.hpp"

#include <algorithm>

#include <arpa/inet.h>

#include "distls/x509/cert_builder.hpp"
#include "distls/x509/pem.hpp"

namespace distls::k8s_double {

namespace {

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

ServingIdentity ServingIdentity::generate(const std::vector<std::string>& extra_sans) {
  auto ca_key = pem::generate_ec_p256();
  // Long enough for any test run; the CA exists only for this process's lifetime.
  auto ca = certs::make_self_signed_ca(ca_key.get(), "k8s-api-double CA", std::chrono::hours(24 * 30));
  auto key = pem::generate_ec_p256();
  certs::LeafSpec spec;
  spec.common_name = "k8s-api-double";
  spec.sans.ips = {"127.0.0.1", "::1"};
  spec.sans.dns = {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"};
  for (const auto& s : extra_sans) {
    auto& list = is_ip(s) ? spec.sans.ips : spec.sans.dns;
    if (std::find(list.begin(), list.end(), s) == list.end()) list.push_back(s);
  }
  spec.ttl = std::chrono::hours(24 * 30);
  auto leaf = certs::sign_leaf(spec, key.get(), ca.get(), ca_key.get());
  ServingIdentity id;
  id.ca_pem = pem::cert_to_pem(ca.get());
  id.chain_pem = pem::cert_to_pem(leaf.get());
  id.key_pem = pem::private_key_to_pem(key.get());
  return id;
}

ServingIdentity ServingIdentity::load(const std::filesystem::path& cert, const std::filesystem::path& key,
                                      const std::filesystem::path& ca) {
  ServingIdentity id;
  id.chain_pem = pem::read_file(cert);
  id.key_pem = pem::read_file(key);
  id.ca_pem = pem::read_file(ca);
  // Parse now, so that a bad file fails at startup with its name.
  pem::read_certs(id.chain_pem, cert.string());
  pem::read_private_key(id.key_pem, key.string());
  pem::read_certs(id.ca_pem, ca.string());
  return id;
}

boost::asio::ssl::context ServingIdentity::server_context() const {
  boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
  SSL_CTX* c = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) ossl::fail("setting TLS versions");
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  auto chain = pem::read_certs(chain_pem, "serving certificate");
  auto key = pem::read_private_key(key_pem, "serving key");
  if (SSL_CTX_use_certificate(c, chain.front().get()) != 1) ossl::fail("installing the serving certificate");
  for (std::size_t i = 1; i < chain.size(); ++i)
    if (SSL_CTX_add1_chain_cert(c, chain[i].get()) != 1) ossl::fail("installing the serving chain");
  if (SSL_CTX_use_PrivateKey(c, key.get()) != 1) ossl::fail("installing the serving key");
  if (SSL_CTX_check_private_key(c) != 1) ossl::fail("the serving key does not match the certificate");
  return ctx;
}

}  // namespace distls::k8s_double
