#include "distls/tunnel/outbound_dialer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/x509/identity.hpp"
#include "distls/util/deadline.hpp"
#include "distls/util/listen.hpp"
#include "distls/tls/peer_verifier.hpp"
#include "distls/tunnel/tunnel.hpp"
#include "distls/tunnel/tunnel_loop.hpp"

namespace distls {
namespace {

using asio::as_tuple;
using asio::use_awaitable;

asio::awaitable<error_code> connect_one(tcp::socket& sock, const tcp::endpoint& ep,
                                        const std::optional<asio::ip::address>& source) {
  error_code ec;
  if (sock.is_open()) sock.close(ec);
  sock.open(ep.protocol(), ec);
  if (!ec && source && source->is_v4() == ep.address().is_v4()) sock.bind(tcp::endpoint(*source, 0), ec);
  if (ec) co_return ec;
  auto [cec] = co_await sock.async_connect(ep, as_tuple(use_awaitable));
  co_return cec;
}

// Resolves (c-ares, when the host is a name) and connects, trying each address in turn.
asio::awaitable<std::pair<std::string, error_code>> connect_peer(ProxyContext& ctx, tcp::socket& sock,
                                                                 const NodeName& peer) {
  std::vector<asio::ip::address> addresses;
  if (peer.host_is_ip) {
    error_code ec;
    addresses.push_back(asio::ip::make_address(peer.host, ec));
    if (ec) co_return std::pair{std::string("bad_address"), ec};
  } else {
    auto answer = co_await ctx.dns.host(peer.host);
    if (!answer.ok()) co_return std::pair{"dns_" + answer.error, error_code{asio::error::host_not_found}};
    addresses = std::move(answer.addresses);
  }
  error_code last = asio::error::host_not_found;
  for (const auto& a : addresses)
    if (!(last = co_await connect_one(sock, tcp::endpoint(a, ctx.peer_port), ctx.source_address)))
      co_return std::pair{std::string(), error_code{}};
  co_return std::pair{std::string("connect"), last};
}

}  // namespace

template <class NodeSocket>
asio::awaitable<void> OutboundDialer::run(NodeSocket node, NodeName peer) {
  auto& ctx = ctx_;
  auto slot = ctx.outbound_limiter.try_acquire();
  if (!slot) {
    ctx.metrics.counter("distls_connections_rejected_total", {{"reason", "max_outbound"}})++;
    ctx.log.warn("tunnel_refused", {{"direction", "out"}, {"peer", peer.full()}, {"reason", "max_outbound"}});
    co_return;
  }
  std::string unusable;
  auto tls_ctx = usable_tls(ctx, unusable);
  if (!tls_ctx) {
    count_failure(ctx, "out", unusable);
    ctx.log.error("tunnel_failed", {{"direction", "out"}, {"peer", peer.full()}, {"reason", unusable},
                                    {"detail", "this node has no valid certificate; see renewal_failed"}});
    co_return;
  }
  const auto started = std::chrono::steady_clock::now();
  TlsStream tls(tcp::socket(co_await asio::this_coro::executor), std::move(tls_ctx), TlsStream::Role::client);
  TunnelLoop loop;
  const auto close_both = [&] {
    loop.close([&] {
      error_code ignored;
      node.close(ignored);
      tls.close();
    });
  };
  const auto session = ctx.sessions.add(close_both);
  if (!expect_peer_host(tls.ssl(), peer)) {
    ctx.log.error("tunnel_failed", {{"direction", "out"}, {"peer", peer.full()}, {"reason", "bad_peer_host"}});
    co_return;
  }

  auto dial = [&]() -> asio::awaitable<std::pair<std::string, error_code>> {
    if (auto c = co_await connect_peer(ctx, tls.socket(), peer); c.second) co_return c;
    if (auto ec = co_await tls.handshake()) co_return std::pair{tls.failure_label(), ec};
    co_return std::pair{std::string(), error_code{}};
  };
  auto outcome = co_await within(ctx.limits.handshake_timeout, dial());
  std::string reason = !outcome ? "handshake_timeout" : outcome->first;
  if (reason.empty() && !cert_matches_host(SSL_get0_peer_certificate(tls.ssl()), peer))
    reason = "name_mismatch";  // OpenSSL checked this already; a second look costs nothing
  if (reason.empty() && !cert_allowed(SSL_get0_peer_certificate(tls.ssl()), ctx.allow_peers))
    reason = "not_allowed";
  if (!reason.empty()) {
    const std::string detail = !outcome ? "no handshake within the deadline"
                               : !tls.failure().empty() ? tls.failure()
                               : outcome->second ? outcome->second.message()
                               : reason == "not_allowed" ? "no URI SAN of the certificate is in --allow-peer"
                                                         : "certificate does not name " + peer.host;
    count_failure(ctx, "out", reason);
    ctx.book.failed(peer.full(), reason);
    ctx.log.warn("tunnel_failed", {{"direction", "out"}, {"peer", peer.full()}, {"port", ctx.peer_port},
                                   {"reason", reason}, {"detail", detail}});
    co_return;  // closing the node's socket makes its connect attempt fail: it retries later
  }

  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  ctx.log.info("tunnel_open", {{"direction", "out"}, {"peer", peer.full()},
                               {"peer_serial", serial_hex(SSL_get0_peer_certificate(tls.ssl()))},
                               {"tls", SSL_get_version(tls.ssl())},
                               {"cipher", SSL_get_cipher_name(tls.ssl())}, {"setup_ms", ms.count()}});
  auto& open = ctx.metrics.gauge("distls_tunnels_open", {{"direction", "out"}});
  ++open;
  ctx.book.tunnel_opened(peer.full(), false);
  ctx.metrics.counter("distls_tunnels_total", {{"direction", "out"}})++;
  error_code rec;
  const auto remote = tls.socket().remote_endpoint(rec);
  auto live = ctx.tunnels.add(
      TunnelRegistry::describe(tls.ssl(), peer, false, rec ? std::string("unknown") : to_string(remote), close_both));
  // Named first: GCC 12 cannot keep an initializer list alive across a co_await.
  TunnelCounters bytes{ctx.metrics.counter("distls_bytes_sent_total", {{"direction", "out"}}),
                       ctx.metrics.counter("distls_bytes_received_total", {{"direction", "out"}})};
  auto result = co_await loop.splice(ctx.loops, node, tls, bytes);
  --open;
  ctx.book.tunnel_closed(peer.full(), false);
  if (result.received == 0 && result.end != "closed") {
    // TLS 1.3 finishes the client's handshake before the server has judged the client's
    // certificate: a refusal arrives as an alert on the first read.
    count_failure(ctx, "out", "rejected_by_peer");
    ctx.book.failed(peer.full(), "rejected_by_peer");
    ctx.log.warn("tunnel_failed", {{"direction", "out"}, {"peer", peer.full()}, {"reason", "rejected_by_peer"},
                                   {"detail", result.end}});
    co_return;
  }
  ctx.log.info("tunnel_closed", {{"direction", "out"}, {"peer", peer.full()}, {"sent", result.sent},
                                 {"received", result.received}, {"end", result.end}});
}

template asio::awaitable<void> OutboundDialer::run(tcp::socket, NodeName);
template asio::awaitable<void> OutboundDialer::run(asio::local::stream_protocol::socket, NodeName);

}  // namespace distls
