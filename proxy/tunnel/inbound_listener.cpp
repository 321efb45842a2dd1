#include "distls/tunnel/inbound_listener.hpp"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/x509/identity.hpp"
#include "distls/util/accept_loop.hpp"
#include "distls/util/deadline.hpp"
#include "distls/tunnel/first_frame.hpp"
#include "distls/util/listen.hpp"
#include "distls/tls/peer_verifier.hpp"
#include "distls/tunnel/tunnel.hpp"
#include "distls/tunnel/tunnel_loop.hpp"
#include "distls/tunnel/socket_dir.hpp"

namespace distls {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// Whether the connection came from the address an IP-named node is named after
// (IPv4-mapped IPv6 sources compare as IPv4).
bool same_host(const asio::ip::address& source, const std::string& host) {
  error_code ec;
  const auto named = asio::ip::make_address(host, ec);
  if (ec) return false;
  auto plain = [](const asio::ip::address& a) -> asio::ip::address {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
  };
  return plain(source) == plain(named);
}

std::string describe(const tcp::endpoint& at) { return to_string(at); }
std::string describe(const unix_stream::endpoint& at) { return at.path(); }

}  // namespace

InboundListener::InboundListener(asio::any_io_executor ex, ProxyContext& ctx, FindNode find_node,
                                 const tcp::endpoint& listen)
    : ex_(ex),
      ctx_(ctx),
      find_node_(std::move(find_node)),
      acceptor_(make_listener(ex, listen, "--listen")),
      rate_(ctx.limits.handshake_rate, std::max(1.0, ctx.limits.handshake_rate * 2)),
      lobby_(ex, ctx.limits.handshake_timeout,
             [this](tcp::socket s, ConnectionLimiter::Slot slot, tcp::endpoint remote, Lobby::clock::time_point deadline) {
               ctx_.tasks.spawn("tunnel-in", admit(std::move(s), std::move(slot), remote, deadline));
             },
             [this](const tcp::endpoint& remote, std::string_view reason, const std::string& detail) {
               count_failure(ctx_, "in", reason);
               ctx_.log.warn("tunnel_refused", {{"direction", "in"}, {"from", to_string(remote)}, {"reason", reason},
                                                {"node", "-"}, {"detail", detail}});
             }) {}

void InboundListener::start() {
  ctx_.tasks.spawn("tls-accept", accept_loop(acceptor_, ctx_.log, &ctx_.metrics, "tls",
                                             [this](tcp::socket s) { welcome(std::move(s)); }));
}

void InboundListener::stop() {
  error_code ignored;
  acceptor_.close(ignored);
  lobby_.close_all();
}

void InboundListener::welcome(tcp::socket s) {
  error_code ec;
  const auto remote = s.remote_endpoint(ec);
  if (ec) {  // gone between accept and here: nothing to judge, nothing to say
    count_failure(ctx_, "in", "peer_closed");
    return;
  }
  if (!rate_.allow(RateLimiter::source_key(remote.address()), std::chrono::steady_clock::now())) {
    ctx_.metrics.counter("distls_connections_rejected_total", {{"reason", "rate_limited"}})++;
    // One line per source per burst would still flood the log under a scan: count, log rarely.
    if (++rate_limited_ % 100 == 1)
      ctx_.log.warn("tunnel_refused", {{"direction", "in"}, {"from", to_string(remote)}, {"reason", "rate_limited"},
                                       {"refused_so_far", rate_limited_}});
    return;
  }
  auto slot = ctx_.inbound_limiter.try_acquire();
  if (!slot) {
    ctx_.metrics.counter("distls_connections_rejected_total", {{"reason", "max_connections"}})++;
    ctx_.log.warn("tunnel_refused", {{"direction", "in"}, {"from", to_string(remote)}, {"reason", "max_connections"}});
    return;
  }
  lobby_.enter(std::move(s), std::move(*slot), remote);
}

asio::awaitable<void> InboundListener::admit(tcp::socket s, ConnectionLimiter::Slot /*held to the end*/,
                                             tcp::endpoint remote, std::chrono::steady_clock::time_point deadline) {
  const std::string from = to_string(remote);
  std::string unusable;
  auto tls_ctx = usable_tls(ctx_, unusable);
  if (!tls_ctx) {
    count_failure(ctx_, "in", unusable);
    ctx_.log.error("tunnel_refused", {{"direction", "in"}, {"from", from}, {"reason", unusable},
                                      {"detail", "this node has no valid certificate; see renewal_failed"}});
    co_return;
  }
  TlsStream tls(std::move(s), std::move(tls_ctx), TlsStream::Role::server);
  TunnelLoop loop;
  const auto session = ctx_.sessions.add([&] { loop.close([&] { tls.close(); }); });

  auto handshake = [&]() -> asio::awaitable<Admission> {
    if (auto hec = co_await tls.handshake()) {
      Admission a;
      a.reason = tls.failure_label();
      a.detail = tls.failure().empty() ? hec.message() : tls.failure();
      co_return a;
    }
    auto a = co_await read_send_name(tls);
    if (a.reason.empty() && !cert_matches_host(SSL_get0_peer_certificate(tls.ssl()), *a.node)) {
      a.reason = "name_mismatch";
      a.detail = "certificate does not name " + a.node->host;
    }
    if (a.reason.empty() && ctx_.check_source && a.node->host_is_ip && !same_host(remote.address(), a.node->host)) {
      a.reason = "source_mismatch";
      a.detail = "node " + a.node->full() + " dialled from " + remote.address().to_string();
    }
    if (a.reason.empty() && !cert_allowed(SSL_get0_peer_certificate(tls.ssl()), ctx_.allow_peers)) {
      a.reason = "not_allowed";
      a.detail = "no URI SAN of the certificate is in --allow-peer";
    }
    co_return a;
  };
  auto admitted = co_await within(deadline - std::chrono::steady_clock::now(), handshake());
  if (!admitted || !admitted->reason.empty()) {
    const std::string reason = admitted ? admitted->reason : "handshake_timeout";
    count_failure(ctx_, "in", reason);
    if (admitted && admitted->node) ctx_.book.failed(admitted->node->full(), reason);
    ctx_.log.warn("tunnel_refused",
                  {{"direction", "in"}, {"from", from}, {"reason", reason},
                   {"node", admitted && admitted->node ? admitted->node->full() : std::string("-")},
                   {"detail", admitted ? admitted->detail : std::string("no handshake within the deadline")}});
    co_return;
  }
  const NodeName peer = *admitted->node;

  const auto node_at = find_node_();
  if (!node_at) {
    count_failure(ctx_, "in", "node_not_registered");
    ctx_.log.warn("tunnel_refused", {{"direction", "in"}, {"from", from}, {"node", peer.full()},
                                     {"reason", "node_not_registered"}, {"detail", ctx_.self.alive + " has not registered"}});
    co_return;
  }
  if (const auto* at = std::get_if<tcp::endpoint>(&*node_at))
    co_await splice_to_node<tcp>(*at, tls, loop, peer, from, admitted->frame);
  else
    co_await splice_to_node<unix_stream>(std::get<unix_stream::endpoint>(*node_at), tls, loop, peer, from,
                                         admitted->frame);
}

template <class Protocol>
asio::awaitable<void> InboundListener::splice_to_node(typename Protocol::endpoint at, TlsStream& tls, TunnelLoop& loop,
                                                      const NodeName& peer,
                                                      const std::string& from, const std::vector<std::uint8_t>& first_frame) {
  typename Protocol::socket node(ex_);
  const auto session = ctx_.sessions.add([&] {
    loop.close([&] {
      error_code ignored;
      node.close(ignored);
    });
  });
  auto connected = co_await within(ctx_.limits.handshake_timeout, node.async_connect(at, as_tuple(use_awaitable)));
  if (!connected || std::get<0>(*connected)) {
    count_failure(ctx_, "in", "node_unreachable");
    ctx_.log.warn("tunnel_refused", {{"direction", "in"}, {"from", from}, {"node", peer.full()},
                                     {"reason", "node_unreachable"}, {"at", describe(at)}});
    co_return;
  }
  if constexpr (std::is_same_v<Protocol, unix_stream>) size_node_socket(node);
  ctx_.log.info("tunnel_open", {{"direction", "in"}, {"from", from}, {"peer", peer.full()},
                                {"peer_serial", serial_hex(SSL_get0_peer_certificate(tls.ssl()))},
                                {"tls", SSL_get_version(tls.ssl())}, {"cipher", SSL_get_cipher_name(tls.ssl())}});
  auto& open = ctx_.metrics.gauge("distls_tunnels_open", {{"direction", "in"}});
  ++open;
  ctx_.book.tunnel_opened(peer.full(), true);
  ctx_.metrics.counter("distls_tunnels_total", {{"direction", "in"}})++;
  auto live = ctx_.tunnels.add(TunnelRegistry::describe(tls.ssl(), peer, true, from, [&] {
    loop.close([&] {
      error_code ignored;
      node.close(ignored);
      tls.close();
    });
  }));
  // Named first: GCC 12 cannot keep an initializer list alive across a co_await.
  TunnelCounters bytes{ctx_.metrics.counter("distls_bytes_sent_total", {{"direction", "in"}}),
                       ctx_.metrics.counter("distls_bytes_received_total", {{"direction", "in"}})};
  auto result = co_await loop.splice(ctx_.loops, node, tls, bytes, asio::buffer(first_frame));
  --open;
  ctx_.book.tunnel_closed(peer.full(), true);
  ctx_.log.info("tunnel_closed", {{"direction", "in"}, {"peer", peer.full()}, {"sent", result.sent},
                                  {"received", result.received}, {"end", result.end}});
}

}  // namespace distls
