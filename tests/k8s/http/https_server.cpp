#include "tests/k8s/http/https_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "distls/util/listen.hpp"
#include "tests/k8s/encoding/json_util.hpp"

namespace distls::k8s_double {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr std::size_t kBodyLimit = 8 * 1024 * 1024;

http::response<http::string_body> to_response(const Reply& r, unsigned version, bool keep_alive, bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-cache, private");
  for (const auto& [k, v] : r.headers) res.insert(k, v);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays that of the GET
  return res;
}

ApiRequest to_api_request(const http::request<http::string_body>& msg, Expected<ApiRequest> parsed) {
  ApiRequest r = std::move(*parsed);
  r.authorization = std::string(msg[http::field::authorization]);
  r.accept = std::string(msg[http::field::accept]);
  r.content_type = std::string(msg[http::field::content_type]);
  r.body = msg.body();
  return r;
}

// Completes when the client closes its side (or sends anything, which a watching or
// waiting client never does), so the server notices a client that went away.
asio::awaitable<void> peer_gone(Stream& stream) {
  char byte[64];
  co_await stream.async_read_some(asio::buffer(byte), as_tuple(use_awaitable));
}

// Runs out the watch: lines as they come, bookmarks, until timeoutSeconds, a close-all from
// the control API, an ERROR (410), or the client leaving.
asio::awaitable<void> pump_watch(Stream& stream, WatchStream& ws, WatchHub& hub, std::uint64_t id,
                                 asio::steady_timer& changed, const ServerTimings& timings) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + ws.spec().timeout;
  auto next_bookmark = clock::now() + timings.bookmark_interval;
  const auto close_gen = hub.close_generation();
  auto bookmark_gen = hub.bookmark_generation();
  std::uint64_t sent = 0;
  asio::steady_timer own(co_await asio::this_coro::executor);
  for (;;) {
    std::vector<std::string> lines = ws.poll();
    if (ws.spec().bookmarks && !ws.finished() &&
        (hub.bookmark_generation() != bookmark_gen || clock::now() >= next_bookmark)) {
      lines.push_back(ws.bookmark());
      bookmark_gen = hub.bookmark_generation();
      next_bookmark = clock::now() + timings.bookmark_interval;
    }
    if (!lines.empty()) {
      std::string chunk;
      for (const auto& l : lines) chunk += l;
      auto [ec, n] =
          co_await asio::async_write(stream, http::make_chunk(asio::buffer(chunk)), as_tuple(use_awaitable));
      if (ec) {
        beast::get_lowest_layer(stream).cancel();
        co_return;
      }
      sent += lines.size();
      hub.progress(id, ws.position(), sent);
      if (ws.finished()) break;
      // Changes made while the write was in flight woke nobody: look again before waiting.
      continue;
    }
    hub.progress(id, ws.position(), sent);
    if (hub.close_generation() != close_gen || clock::now() >= deadline) break;
    own.expires_at(ws.spec().bookmarks ? std::min(deadline, next_bookmark) : deadline);
    co_await (changed.async_wait(as_tuple(use_awaitable)) || own.async_wait(as_tuple(use_awaitable)));
  }
  co_await asio::async_write(stream, http::make_chunk_last(), as_tuple(use_awaitable));
  // Wakes peer_gone's read, whatever the TLS stream's support for cancellation.
  beast::get_lowest_layer(stream).cancel();
}

}  // namespace

HttpsServer::HttpsServer(asio::any_io_executor ex, asio::ssl::context& tls, Dispatcher& dispatcher,
                         const ObjectStore& store, WatchHub& watches, Logger& log,
                         const tcp::endpoint& listen, ServerTimings timings)
    : ex_(ex),
      tls_(tls),
      dispatcher_(dispatcher),
      store_(store),
      watches_(watches),
      log_(log),
      acceptor_(make_listener(ex, listen, "--listen")),
      timings_(timings),
      changed_(ex, asio::steady_timer::time_point::max()) {}

// A coroutine of the double that ends with an exception says so: a test then sees why
// the API went quiet instead of a silent hang.
auto HttpsServer::report_end(const char* what) {
  return [this, what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log_.error("task_failed", {{"task", what}, {"error", x.what()}});
    }
  };
}

void HttpsServer::start() { asio::co_spawn(ex_, accept_loop(), report_end("accept")); }

void HttpsServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  watches_.close_all();
}

asio::awaitable<void> HttpsServer::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(as_tuple(use_awaitable));
    if (!acceptor_.is_open()) co_return;
    if (ec) continue;
    sock.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(ex_, serve(std::move(sock)), report_end("serve"));
  }
}

asio::awaitable<void> HttpsServer::serve(tcp::socket s) {
  Stream stream(beast::tcp_stream(std::move(s)), tls_);
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(timings_.handshake);
  if (auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, as_tuple(use_awaitable));
      ec) {
    log_.debug("tls_handshake_failed", {{"error", ec}});
    co_return;
  }
  beast::flat_buffer buf;
  for (;;) {
    lowest.expires_after(timings_.idle);
    http::request_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(kBodyLimit);
    if (auto [ec, n] = co_await http::async_read(stream, buf, parser, as_tuple(use_awaitable)); ec) break;
    lowest.expires_never();
    const auto& msg = parser.get();
    auto parsed = parse_target(std::string(msg.method_string()), msg.target());
    Decision d = parsed ? dispatcher_.handle(to_api_request(msg, std::move(parsed)))
                        : Decision{Reply::error(parsed.error())};
    while (const auto* delay = std::get_if<Delay>(&d)) {
      asio::steady_timer t(ex_, delay->ms);
      co_await t.async_wait(as_tuple(use_awaitable));
      d = dispatcher_.handle(
          to_api_request(msg, parse_target(std::string(msg.method_string()), msg.target())), true);
    }

    if (const auto* reply = std::get_if<Reply>(&d)) {
      auto res = to_response(*reply, msg.version(), msg.keep_alive(), msg.method() == http::verb::head);
      http::response_serializer<http::string_body> sr{res};
      if (msg.method() == http::verb::head) sr.split(true);
      auto [ec, n] = msg.method() == http::verb::head
                         ? co_await http::async_write_header(stream, sr, as_tuple(use_awaitable))
                         : co_await http::async_write(stream, sr, as_tuple(use_awaitable));
      if (ec || !res.keep_alive()) break;
      continue;
    }

    if (auto* watch = std::get_if<Watch>(&d)) {
      // The stream ends with the connection: after a watch nothing else is read from it.
      http::response<http::empty_body> res{http::status::ok, msg.version()};
      res.set(http::field::content_type, "application/json");
      res.set(http::field::cache_control, "no-cache, private");
      res.keep_alive(false);
      res.chunked(true);
      http::response_serializer<http::empty_body> sr{res};
      if (auto [ec, n] = co_await http::async_write_header(stream, sr, as_tuple(use_awaitable)); ec) break;
      WatchStream ws(store_, std::move(watch->spec), [] { return std::chrono::system_clock::now(); });
      const auto id =
          watches_.open(WatchInfo{0, watch->user, std::string(msg.target()), ws.spec().type->gr.resource,
                                  format_time(std::chrono::system_clock::now()), ws.position(), 0});
      const std::string target(msg.target());
      log_.info("watch_open", {{"id", id}, {"user", watch->user}, {"target", target}});
      co_await (pump_watch(stream, ws, watches_, id, changed_, timings_) || peer_gone(stream));
      watches_.closed(id);
      log_.info("watch_closed", {{"id", id}, {"resourceVersion", ws.position()}});
      break;
    }

    if (std::holds_alternative<Hang>(d)) {
      // Never answered: the connection stays until the client gives up (or the cap).
      lowest.expires_after(timings_.hang_cap);
      co_await peer_gone(stream);
    }
    break;  // Hang done, or Drop
  }
  boost::system::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  lowest.close();
}

}  // namespace distls::k8s_double
