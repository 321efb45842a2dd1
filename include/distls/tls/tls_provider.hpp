// The TLS configuration in force. Handshakes take a copy of the pointer when they start;
// publishing a new one (a renewed identity) never disturbs them or established tunnels.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "distls/tls/tls_context.hpp"

namespace distls {

class TlsProvider {
 public:
  explicit TlsProvider(std::shared_ptr<const TlsContext> initial) : current_(std::move(initial)) {}
  std::shared_ptr<const TlsContext> current() const { return current_; }
  // The context for a new handshake, or null with why not: "no_identity" (none yet) or
  // "identity_expired" (it expired without a renewal).
  std::shared_ptr<const TlsContext> usable(std::string& why_not) const {
    if (!current_) {
      why_not = "no_identity";
    } else if (current_->expired(std::chrono::system_clock::now())) {
      why_not = "identity_expired";
    } else {
      return current_;
    }
    return nullptr;
  }
  void publish(std::shared_ptr<const TlsContext> next) { current_ = std::move(next); }

 private:
  std::shared_ptr<const TlsContext> current_;
};

}  // namespace distls
