#include "distls/epmd/epmd_service.hpp"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "distls/util/accept_loop.hpp"
#include "distls/util/deadline.hpp"
#include "read_frame.hpp"
#include "distls/util/listen.hpp"
#include "distls/epmd/listen_check.hpp"

namespace distls {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// Answers a local node with its own registration (a remote console on this host).
epmd::PortInfo port_info(const Registration& r) {
  const auto& q = r.request;
  return {q.port, q.node_type, q.protocol, q.highest_version, q.lowest_version, q.name, q.extra};
}

}  // namespace

EpmdService::EpmdService(asio::any_io_executor ex, ProxyContext& ctx, NodeRegistry& registry, PeerListeners& listeners,
                         const tcp::endpoint& listen)
    : ex_(ex), ctx_(ctx), registry_(registry), listeners_(listeners), acceptor_(make_listener(ex, listen, "--epmd")) {}

void EpmdService::start() {
  ctx_.tasks.spawn("epmd-accept",
                   accept_loop(acceptor_, ctx_.log, &ctx_.metrics, "epmd",
                               [this](tcp::socket s) { ctx_.tasks.spawn("epmd-connection", serve(std::move(s))); }));
}

void EpmdService::stop() {
  error_code ignored;
  acceptor_.close(ignored);
}

void EpmdService::reject(std::string_view reason, const std::string& from, std::string_view detail) {
  ctx_.metrics.counter("distls_epmd_errors_total", {{"reason", reason}})++;
  ctx_.log.warn("epmd_request_rejected", {{"from", from}, {"reason", reason}, {"detail", detail}});
}

asio::awaitable<void> EpmdService::serve(tcp::socket s) {
  // A registration holds its connection for the node's life: shutdown closes it.
  const auto session = ctx_.sessions.add([&s] {
    error_code ignored;
    s.close(ignored);
  });
  error_code ec;
  const auto remote = s.remote_endpoint(ec);
  if (ec) co_return;
  const std::string from = to_string(remote);
  const bool from_loopback = remote.address().is_loopback();

  // One request per connection, as with epmd.
  const auto request = co_await read_frame(s, epmd::kMaxRequestLength, ctx_.limits.handshake_timeout);
  if (request.error == "timeout") co_return reject("request_timeout", from);
  if (!request.error.empty()) co_return reject(request.error, from);

  auto parsed = epmd::parse_request(request.body);
  if (auto* err = std::get_if<epmd::ParseError>(&parsed)) co_return reject(err->reason, from);
  auto& req = std::get<epmd::Request>(parsed);

  std::vector<std::uint8_t> reply;
  if (auto* alive = std::get_if<epmd::Alive2Request>(&req)) {
    ctx_.metrics.counter("distls_epmd_requests_total", {{"type", "alive2"}})++;
    // epmd accepts registrations only from the local host.
    if (!from_loopback) co_return reject("remote_registration", from, alive->name);
    co_await hold_registration(s, *alive, from);
    co_return;
  } else if (auto* pp = std::get_if<epmd::PortPlease2Request>(&req)) {
    ctx_.metrics.counter("distls_epmd_requests_total", {{"type", "port_please2"}})++;
    reply = epmd::encode_port2_resp(lookup(pp->name, from_loopback, from));
  } else if (std::holds_alternative<epmd::PeersRequest>(req)) {
    ctx_.metrics.counter("distls_epmd_requests_total", {{"type", "peers"}})++;
    // The cluster's membership is the local node's business only.
    if (!from_loopback) co_return reject("remote_peers_request", from);
    reply = epmd::encode_peers_resp(ctx_.book.discovered());
  } else if (std::holds_alternative<epmd::NamesRequest>(req)) {
    ctx_.metrics.counter("distls_epmd_requests_total", {{"type", "names"}})++;
    reply = epmd::encode_names_resp(acceptor_.local_endpoint().port(), registry_.names());
  } else {
    co_return reject("refused_request", from,
                     "code " + std::to_string(std::get<epmd::RefusedRequest>(req).code));
  }
  co_await within(ctx_.limits.handshake_timeout, asio::async_write(s, asio::buffer(reply), as_tuple(use_awaitable)));
}

std::optional<epmd::PortInfo> EpmdService::lookup(const std::string& name, bool from_loopback,
                                                   const std::string& from) {
  if (name.find('@') == std::string::npos) {
    const Registration* r = registry_.find(name);
    return r ? std::optional(port_info(*r)) : std::nullopt;
  }
  const auto node = parse_node_name(name);  // the parser already vetted it
  if (!node) return std::nullopt;
  // A node on this pod: answer its own port, no TLS (remote consoles, local tools).
  if (node->host == ctx_.self.host) {
    const Registration* r = registry_.find(node->alive);
    if (!r) ctx_.log.info("port_please_unknown", {{"from", from}, {"node", name}});
    if (r && r->request.port == 0) {
      // It has no port to give: a node of the socket directory is dialled at its socket.
      reject("unix_socket_node", from, name + " listens on a Unix socket; start the caller with -proto_dist distls and DISTLS_SOCKET_DIR");
      return std::nullopt;
    }
    return r ? std::optional(port_info(*r)) : std::nullopt;
  }
  // Only local processes may have tunnels opened for them.
  if (!from_loopback) {
    reject("remote_tunnel_request", from, name);
    return std::nullopt;
  }
  error_code ec;
  const auto port = listeners_.port_for(*node, ec);
  if (!port) {
    ctx_.log.error("peer_port_failed", {{"peer", name}, {"error", ec}});
    return std::nullopt;
  }
  // The dialling node speaks to distls, which speaks to the peer's distls: versions are
  // the local node's own business, so offer the full range OTP 23+ understands.
  return epmd::PortInfo{*port, 77, 0, 6, 5, node->alive, {}};
}

asio::awaitable<void> EpmdService::refuse_registration(tcp::socket& s, const epmd::Alive2Request& req,
                                                       std::string_view reason, const std::string& detail) {
  ctx_.metrics.counter("distls_registrations_refused_total", {{"reason", reason}})++;
  ctx_.log.error("registration_refused",
                 {{"name", req.name}, {"port", req.port}, {"reason", reason}, {"detail", detail}});
  const auto refused = epmd::encode_alive2_resp(false, 0, req.highest_version >= 6);
  // Every write a peer can stall has a deadline, this one too.
  co_await within(ctx_.limits.handshake_timeout, asio::async_write(s, asio::buffer(refused), as_tuple(use_awaitable)));
}

asio::awaitable<void> EpmdService::hold_registration(tcp::socket& s, const epmd::Alive2Request& req,
                                                     const std::string& from) {
  // Port 0: the node listens at DIR/ALIVE.sock, which only a distls with that directory
  // can reach. Without one, the node could take no tunnel at all: say so now.
  if (req.port == 0 && ctx_.socket_dir.empty())
    co_return co_await refuse_registration(
        s, req, "no_socket_dir",
        "the node listens on a Unix socket (DISTLS_SOCKET_DIR); start distls with the same --socket-dir");
  // A node reachable around the tunnels would make distls decoration, not security.
  if (const auto exposed = req.port == 0 ? std::nullopt : exposed_listener(req.port))
    co_return co_await refuse_registration(s, req, "exposed",
                                           "the node listens on " + *exposed + ":" + std::to_string(req.port) +
                                               ", beyond loopback; start it with -kernel inet_dist_use_interface "
                                               "'{127,0,0,1}'");
  error_code ec;
  const auto creation = registry_.add(req, s.remote_endpoint(ec).address());
  const bool extended = req.highest_version >= 6;
  const auto reply = epmd::encode_alive2_resp(creation.has_value(), creation.value_or(0), extended);
  auto written = co_await within(ctx_.limits.handshake_timeout, asio::async_write(s, asio::buffer(reply), as_tuple(use_awaitable)));
  if (!creation) {
    reject("name_taken", from, req.name);
    co_return;
  }
  if (!written || std::get<0>(*written)) {
    registry_.remove(req.name, *creation);
    co_return;
  }
  ctx_.log.info("node_registered", {{"name", req.name}, {"port", req.port}, {"creation", *creation}});
  // The registration lives as long as this connection; anything the node sends on it is
  // ignored, as epmd does.
  std::array<std::uint8_t, 64> sink{};
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(sink), as_tuple(use_awaitable));
    if (ec) break;
  }
  registry_.remove(req.name, *creation);
  ctx_.log.info("node_unregistered", {{"name", req.name}, {"port", req.port}});
}

}  // namespace distls
