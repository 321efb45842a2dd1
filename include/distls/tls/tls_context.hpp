// The TLS configuration built from one identity: a server context for the peer listener
// and a client context for dialling peers. Immutable once built and shared by
// shared_ptr<const>, so that a new identity is published by swapping one pointer while
// handshakes in flight keep the context they started with.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "distls/x509/identity.hpp"
#include "distls/x509/ossl.hpp"

namespace distls {

struct TlsOptions {
  int min_version = TLS1_3_VERSION;  // TLS 1.2 only when asked for (--tls-min 1.2)
};

class TlsContext {
 public:
  // Throws ossl::Error when the identity cannot be installed.
  static std::shared_ptr<const TlsContext> build(const Identity& id, const TlsOptions& opts);

  // What /certs and the logs say about the identity this context presents.
  struct Summary {
    std::string serial;
    std::string subject;
    std::string issuer;
    std::chrono::system_clock::time_point not_before;
    std::chrono::system_clock::time_point not_after;
    std::vector<std::string> trust;  // subjects of the CAs in the bundle
  };

  SSL_CTX* server() const { return server_.get(); }
  SSL_CTX* client() const { return client_.get(); }
  const Summary& summary() const { return summary_; }
  const std::string& serial() const { return summary_.serial; }
  std::chrono::system_clock::time_point not_after() const { return summary_.not_after; }
  bool expired(std::chrono::system_clock::time_point now) const { return now >= summary_.not_after; }
  // Equal for two contexts exactly when they trust the same set of CAs.
  const std::string& trust_fingerprint() const { return trust_fingerprint_; }
  // The CAs peers must chain to (the same set in both contexts).
  X509_STORE* trust_store() const { return SSL_CTX_get_cert_store(server_.get()); }

 private:
  ossl::SslCtx server_;
  ossl::SslCtx client_;
  Summary summary_;
  std::string trust_fingerprint_;
};

// Parses "1.2" or "1.3" into an OpenSSL version constant; 0 when neither.
int parse_tls_version(std::string_view);

}  // namespace distls
