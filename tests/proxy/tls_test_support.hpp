// In-memory identities and TLS contexts for the proxy tests: real certificates, real TLS.
#pragma once

#include <future>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "tests/certs/cert_test_support.hpp"
#include "distls/x509/identity.hpp"
#include "distls/tls/tls_context.hpp"

namespace distls::test {

inline Identity identity_for(const TestCa& ca, const std::string& host, const TestCa* trust = nullptr) {
  Identity id;
  id.key = pem::generate_ec_p256();
  id.chain.push_back(make_leaf(ca, id.key.get(), host));
  id.trust.push_back(ossl::share((trust ? trust : &ca)->cert.get()));
  return id;
}

// `leaf` re-issued by `ca` with its extendedKeyUsage replaced by `eku` (OpenSSL's
// config syntax, "serverAuth"), or removed when `eku` is empty: what distls itself never
// issues, as another tool or a careless CA might.
inline ossl::X509Ptr with_eku(const TestCa& ca, X509* leaf, const std::string& eku) {
  ossl::X509Ptr copy{X509_dup(leaf)};
  const int at = X509_get_ext_by_NID(copy.get(), NID_ext_key_usage, -1);
  if (at >= 0) X509_EXTENSION_free(X509_delete_ext(copy.get(), at));
  if (!eku.empty()) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, ca.cert.get(), copy.get(), nullptr, nullptr, 0);
    ossl::X509Ext ext{X509V3_EXT_conf_nid(nullptr, &ctx, NID_ext_key_usage, eku.c_str())};
    if (!ext || X509_add_ext(copy.get(), ext.get(), -1) != 1) ADD_FAILURE() << "cannot add EKU " << eku;
  }
  if (X509_sign(copy.get(), ca.key.get(), EVP_sha256()) <= 0) ADD_FAILURE() << "cannot re-sign the leaf";
  return copy;
}

// A TLS configuration whose leaf carries `eku` only (see with_eku).
inline std::shared_ptr<const TlsContext> tls_with_eku(const TestCa& ca, const std::string& host, const std::string& eku) {
  auto id = identity_for(ca, host);
  id.chain.front() = with_eku(ca, id.leaf(), eku);
  return TlsContext::build(id, TlsOptions{});
}

// A TLS configuration whose leaf is valid from now + `from` to now + `until` (re-signed
// by `ca`): an expired or a not yet valid certificate.
inline std::shared_ptr<const TlsContext> tls_valid_between(const TestCa& ca, const std::string& host,
                                                           std::chrono::seconds from, std::chrono::seconds until) {
  auto id = identity_for(ca, host);
  X509* leaf = id.chain.front().get();
  if (!X509_gmtime_adj(X509_getm_notBefore(leaf), static_cast<long>(from.count())) ||
      !X509_gmtime_adj(X509_getm_notAfter(leaf), static_cast<long>(until.count())) ||
      X509_sign(leaf, ca.key.get(), EVP_sha256()) <= 0)
    ADD_FAILURE() << "cannot re-date the leaf";
  return TlsContext::build(id, TlsOptions{});
}

inline std::shared_ptr<const TlsContext> tls_for(const TestCa& ca, const std::string& host,
                                                 const TestCa* trust = nullptr) {
  return TlsContext::build(identity_for(ca, host, trust), TlsOptions{});
}

// Runs a coroutine to completion on `io` and returns its result.
template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> op) {
  auto f = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
  io.restart();
  while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io.run_one();
  return f.get();
}

}  // namespace distls::test
