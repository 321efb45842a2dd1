#include "distls/admin/admin_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "distls/util/options.hpp"
#include "distls/util/accept_loop.hpp"
#include "distls/util/listen.hpp"

namespace distls {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

std::optional<AdminExposure> parse_admin_exposure(std::string_view v) {
  if (v == "probes") return AdminExposure::probes;
  if (v == "metrics") return AdminExposure::metrics;
  if (v == "all") return AdminExposure::all;
  return std::nullopt;
}

AdminExposure admin_exposure_option(std::string_view v) {
  if (auto e = parse_admin_exposure(v)) return *e;
  throw ConfigError("'" + std::string(v) + "' is not probes, metrics or all");
}

namespace {

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

bool exposed(std::string_view path, AdminExposure e) {
  if (path == "/healthz" || path == "/readyz") return true;
  if (path == "/metrics") return e != AdminExposure::probes;
  return e == AdminExposure::all;
}

}  // namespace

AdminServer::AdminServer(asio::any_io_executor ex, Logger& log, Tasks& tasks, Sessions& sessions,
                         AdminHandlers handlers, const tcp::endpoint& listen, AdminOptions options)
    : ex_(ex),
      log_(log),
      tasks_(tasks),
      sessions_(sessions),
      handlers_(std::move(handlers)),
      options_(options),
      acceptor_(make_listener(ex, listen, "--admin")) {}

void AdminServer::start() {
  tasks_.spawn("admin-accept", accept_loop(acceptor_, log_, nullptr, "admin", [this](tcp::socket s) {
    if (active_ >= options_.max_connections) {
      // A scraper or a prober never needs many at once; whoever opens more is refused
      // before a byte is read, and the log says so once per hundred.
      if (++refused_ % 100 == 1)
        log_.warn("admin_connection_refused", {{"reason", "max_connections"}, {"refused_so_far", refused_}});
      return;
    }
    tasks_.spawn("admin-connection", serve(std::move(s)));
  }));
}

void AdminServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> AdminServer::serve(tcp::socket s) {
  ++active_;
  struct Release {
    std::size_t& n;
    ~Release() { --n; }
  } release{active_};
  boost::system::error_code rec;
  const auto remote = s.remote_endpoint(rec);
  const bool local = !rec && is_loopback(remote.address());
  beast::tcp_stream stream(std::move(s));
  const auto session = sessions_.add([&stream] { stream.close(); });
  beast::flat_buffer buf;
  for (;;) {
    stream.expires_after(options_.idle_timeout);
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
    } else if (!local && !exposed(path, options_.expose)) {
      res.result(http::status::forbidden);
      res.body() = "only /healthz and /readyz" + std::string(options_.expose == AdminExposure::metrics ? " and /metrics" : "") +
                   " answer beyond loopback (--admin-expose)\n";
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
