#include "distls/epmd/dial_socket.hpp"

#include <cstdio>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/util/accept_loop.hpp"
#include "distls/util/deadline.hpp"
#include "read_frame.hpp"

namespace distls {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using boost::system::error_code;

namespace {

// alive@host: 255 bytes of alive, '@', 255 of host; more is not a node name.
constexpr std::size_t kMaxNameLength = 511;

}  // namespace

DialSocket::DialSocket(asio::any_io_executor ex, ProxyContext& ctx, const std::string& dir)
    : ctx_(ctx), path_((prepare_socket_dir(dir), dial_socket_path(dir))),
      acceptor_(make_unix_listener(ex, path_, "--socket-dir")) {}

DialSocket::~DialSocket() { stop(); }

void DialSocket::start() {
  ctx_.log.info("dial_socket_open", {{"path", path_}});
  ctx_.tasks.spawn("dial-socket-accept",
                   accept_loop(acceptor_, ctx_.log, &ctx_.metrics, "dial_socket", [this](unix_stream::socket s) {
                     ctx_.tasks.spawn("tunnel-out", serve(std::move(s)));
                   }));
}

void DialSocket::stop() {
  if (!acceptor_.is_open()) return;
  error_code ignored;
  acceptor_.close(ignored);
  // Ours, bound at startup: a later distls would remove it as stale anyway.
  std::remove(path_.c_str());
}

void DialSocket::refuse(std::string_view reason, const std::string& detail) {
  ctx_.metrics.counter("distls_connections_rejected_total", {{"reason", reason}})++;
  ctx_.log.warn("dial_refused", {{"path", path_}, {"reason", reason}, {"detail", detail}});
}

asio::awaitable<void> DialSocket::serve(unix_stream::socket s) {
  size_node_socket(s);
  std::string name;
  {
    // Until OutboundDialer owns the connection, this does.
    const auto session = ctx_.sessions.add([&s] {
      error_code ignored;
      s.close(ignored);
    });
    const auto frame = co_await read_frame(s, kMaxNameLength, ctx_.limits.handshake_timeout);
    if (frame.error == "timeout") co_return refuse("dial_name_timeout", "no peer name within the handshake timeout");
    if (frame.error == "truncated") co_return refuse("dial_name_truncated", "the connection closed before the peer's name");
    if (!frame.error.empty()) co_return refuse("dial_name_bad_length", "the first packet must be the peer's node name");
    name.assign(frame.body.begin(), frame.body.end());
  }
  const auto peer = parse_node_name(name);
  if (!peer) co_return refuse("dial_bad_name", "'" + name.substr(0, 64) + "' is not a full node name");
  // This pod's own nodes are reached at their own sockets, never through TLS to ourselves.
  if (peer->host == ctx_.self.host) co_return refuse("dial_local_node", name + " is a node of this pod: connect to its socket");
  co_await dialer_.run(std::move(s), *peer);
}

}  // namespace distls
