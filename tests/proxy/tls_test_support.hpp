// In-memory identities and TLS contexts for the proxy tests: real certificates, real TLS.
#pragma once

#include <future>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "../certs/cert_test_support.hpp"
#include "distls/identity.hpp"
#include "proxy/tls_context.hpp"

namespace distls::test {

inline Identity identity_for(const TestCa& ca, const std::string& host, const TestCa* trust = nullptr) {
  Identity id;
  id.key = pem::generate_ec_p256();
  id.chain.push_back(make_leaf(ca, id.key.get(), host));
  id.trust.push_back(ossl::share((trust ? trust : &ca)->cert.get()));
  return id;
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
