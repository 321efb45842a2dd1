#include "distls/tunnel/tunnel_registry.hpp"

#include <vector>

#include "distls/x509/identity.hpp"

namespace distls {

void TunnelRegistry::Tunnel::close() const {
  if (close_node) close_node();
  if (tls) tls->close();
}

std::chrono::system_clock::time_point TunnelRegistry::peer_not_after(SSL* ssl) {
  try {
    return not_after(SSL_get0_peer_certificate(ssl));
  } catch (const std::exception&) {
    return std::chrono::system_clock::time_point::max();
  }
}

std::size_t TunnelRegistry::peer_expired(std::chrono::system_clock::time_point now) const {
  std::size_t n = 0;
  for (const auto& t : tunnels_) n += t.peer_not_after <= now ? 1 : 0;
  return n;
}

std::size_t TunnelRegistry::close_untrusted(X509_STORE* store,
                                            const std::function<void(const Tunnel&, const Reverify&)>& on_closed) {
  // Judge all first, close after: closing only cancels the pumps' waits, the entries go
  // away when the tunnels' coroutines run next, but nothing here depends on that.
  std::vector<std::pair<const Tunnel*, Reverify>> failed;
  for (const auto& t : tunnels_) {
    SSL* ssl = t.tls->ssl();
    if (auto why = reverify_peer(store, SSL_get0_peer_certificate(ssl), SSL_get_peer_cert_chain(ssl), t.peer_role()))
      failed.emplace_back(&t, std::move(*why));
  }
  for (const auto& [t, why] : failed) {
    on_closed(*t, why);
    t->close();
  }
  return failed.size();
}

std::size_t TunnelRegistry::close_all() {
  for (const auto& t : tunnels_) t.close();
  return tunnels_.size();
}

}  // namespace distls
