// The TLS configuration in force. Handshakes take a copy of the pointer when they start;
// publishing a new one (a renewed identity) never disturbs them or established tunnels.
#pragma once

#include <memory>

#include "proxy/tls_context.hpp"

namespace distls {

class TlsProvider {
 public:
  explicit TlsProvider(std::shared_ptr<const TlsContext> initial) : current_(std::move(initial)) {}
  std::shared_ptr<const TlsContext> current() const { return current_; }
  void publish(std::shared_ptr<const TlsContext> next) { current_ = std::move(next); }

 private:
  std::shared_ptr<const TlsContext> current_;
};

}  // namespace distls
