#include "distls/tunnel/tunnel_registry.hpp"

#include <vector>

#include "distls/x509/identity.hpp"

namespace distls {

TunnelRegistry::Tunnel TunnelRegistry::describe(SSL* ssl, NodeName peer, bool inbound, std::string remote,
                                                 std::function<void()> close) {
  Tunnel t{std::move(peer), inbound, std::move(remote), std::move(close), {}, {}, {}};
  if (X509* leaf = SSL_get0_peer_certificate(ssl)) t.peer_cert = ossl::share(leaf);
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) t.peer_chain.reset(X509_chain_up_ref(chain));
  t.peer_not_after = std::chrono::system_clock::time_point::max();
  try {
    if (t.peer_cert) t.peer_not_after = not_after(t.peer_cert.get());
  } catch (const std::exception&) {
    // Unreadable: the far future stands, so the tunnel is never counted as expired.
  }
  return t;
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
    if (auto why = reverify_peer(store, t.peer_cert.get(), t.peer_chain.get(), t.peer_role()))
      failed.emplace_back(&t, std::move(*why));
  }
  for (const auto& [t, why] : failed) {
    on_closed(*t, why);
    if (t->close) t->close();
  }
  return failed.size();
}

std::size_t TunnelRegistry::close_all() {
  for (const auto& t : tunnels_)
    if (t.close) t.close();
  return tunnels_.size();
}

}  // namespace distls
