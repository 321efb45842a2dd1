// The live tunnels: each registers for as long as it splices. The registry is what a
// trust-bundle change judges again (and closes what no longer verifies), what /peers and
// the metrics read the peers' certificates from, and what shutdown closes.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <utility>

#include "distls/util/node_name.hpp"
#include "distls/tls/peer_verifier.hpp"
#include "distls/x509/ossl.hpp"

namespace distls {

class TunnelRegistry {
 public:
  struct Tunnel {
    NodeName peer;
    bool inbound = false;
    std::string remote;  // the peer's address and port, for logs
    // Ends the tunnel: both pumps see their sockets closed and splice() returns. Safe to
    // call from main's loop wherever the pumps run (TunnelLoop::close).
    std::function<void()> close;
    // The peer's certificates as the handshake left them, copied: judged again from
    // main's loop while the tunnel's OpenSSL object may be busy on a worker.
    ossl::X509Ptr peer_cert;
    ossl::X509Stack peer_chain;
    std::chrono::system_clock::time_point peer_not_after;  // of peer_cert

    PeerRole peer_role() const { return inbound ? PeerRole::client : PeerRole::server; }
  };

  // A tunnel as its handshake on `ssl` left it (the far future as notAfter when it
  // cannot be read: never "expired").
  static Tunnel describe(SSL* ssl, NodeName peer, bool inbound, std::string remote, std::function<void()> close);

  // Removes its tunnel from the registry when destroyed (the tunnel's coroutine ends).
  class Entry {
   public:
    Entry(TunnelRegistry& r, std::list<Tunnel>::iterator it) : r_(&r), it_(it) {}
    Entry(Entry&& o) noexcept : r_(std::exchange(o.r_, nullptr)), it_(o.it_) {}
    Entry& operator=(Entry&&) = delete;
    ~Entry() {
      if (r_) r_->tunnels_.erase(it_);
    }

   private:
    TunnelRegistry* r_;
    std::list<Tunnel>::iterator it_;
  };

  Entry add(Tunnel t) { return Entry(*this, tunnels_.insert(tunnels_.end(), std::move(t))); }

  const std::list<Tunnel>& all() const { return tunnels_; }
  std::size_t size() const { return tunnels_.size(); }
  std::size_t peer_expired(std::chrono::system_clock::time_point now) const;

  // Verifies every tunnel's peer again against `store` and closes those that fail;
  // `on_closed` hears of each (for the log and the metric) before it is closed.
  std::size_t close_untrusted(X509_STORE* store, const std::function<void(const Tunnel&, const Reverify&)>& on_closed);

  // Closes every tunnel (shutdown after the drain).
  std::size_t close_all();

 private:
  std::list<Tunnel> tunnels_;
};

}  // namespace distls
