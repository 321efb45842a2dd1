#include "proxy/admin_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "proxy/listen.hpp"

namespace distls {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

AdminServer::AdminServer(asio::any_io_executor ex, Logger& log, AdminHandlers handlers, const tcp::endpoint& listen)
    : ex_(ex), log_(log), handlers_(std::move(handlers)), acceptor_(make_listener(ex, listen, "--admin")) {}

void AdminServer::start() { asio::co_spawn(ex_, accept_loop(), asio::detached); }

void AdminServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(as_tuple(use_awaitable));
    if (!acceptor_.is_open()) co_return;
    if (ec) {
      log_.warn("accept_failed", {{"listener", "admin"}, {"error", ec}});
      continue;
    }
    asio::co_spawn(ex_, serve(std::move(sock)), asio::detached);
  }
}

asio::awaitable<void> AdminServer::serve(tcp::socket s) {
  beast::tcp_stream stream(std::move(s));
  beast::flat_buffer buf;
  for (;;) {
    stream.expires_after(std::chrono::seconds(10));
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8 * 1024);
    auto [ec, n] = co_await http::async_read(stream, buf, parser, as_tuple(use_awaitable));
    if (ec) break;
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "distls");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.body() = "GET only\n";
    } else if (path == "/healthz") {
      res.body() = "ok\n";
    } else if (path == "/readyz") {
      std::string why;
      const bool ok = handlers_.ready(why);
      res.result(ok ? http::status::ok : http::status::service_unavailable);
      res.body() = ok ? "ready\n" : why + "\n";
    } else if (path == "/metrics") {
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = handlers_.metrics();
    } else if (path == "/peers" || path == "/certs") {
      res.set(http::field::content_type, "application/json");
      res.body() = path == "/peers" ? handlers_.peers() : handlers_.certs();
    } else {
      res.result(http::status::not_found);
      res.body() = "not found; try /healthz /readyz /metrics /peers /certs\n";
    }
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, as_tuple(use_awaitable));
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace distls
