// The TLS configuration built from one identity: a server context for the peer listener
// and a client context for dialling peers. Immutable once built and shared by
// shared_ptr<const>, so that a new identity is published by swapping one pointer while
// handshakes in flight keep the context they started with.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "distls/identity.hpp"
#include "distls/ossl.hpp"

namespace distls {

struct TlsOptions {
  int min_version = TLS1_3_VERSION;  // TLS 1.2 only when asked for (--tls-min 1.2)
};

class TlsContext {
 public:
  // Throws ossl::Error when the identity cannot be installed.
  static std::shared_ptr<const TlsContext> build(const Identity& id, const TlsOptions& opts);

  SSL_CTX* server() const { return server_.get(); }
  SSL_CTX* client() const { return client_.get(); }
  const std::string& serial() const { return serial_; }
  std::chrono::system_clock::time_point not_after() const { return not_after_; }

 private:
  ossl::SslCtx server_;
  ossl::SslCtx client_;
  std::string serial_;
  std::chrono::system_clock::time_point not_after_;
};

// Parses "1.2" or "1.3" into an OpenSSL version constant; 0 when neither.
int parse_tls_version(std::string_view);

}  // namespace distls
