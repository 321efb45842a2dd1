#include "distls/k8s/client.hpp"

#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include "distls/util/backoff.hpp"
#include "distls/util/json_pointer.hpp"
#include "distls/util/node_name.hpp"

namespace distls::k8s {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kBodyLimit = 32 * 1024 * 1024;  // a CSR list of a large cluster fits
constexpr std::size_t kWatchLineLimit = 4 * 1024 * 1024;

// A Status object (kind "Status") answers errors; anything else is the object asked for.
bool is_status(const json::value& body) { return jsonp::text(body, "/kind") == "Status"; }

using Stream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

std::string url_escape(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string expect_server_name(SSL* ssl, const std::string& name) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (name.find('\0') != std::string::npos) return "server name '" + name.substr(0, name.find('\0')) + "\\0...' holds a NUL";
  if (is_ip_literal(name)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) return "'" + name + "' cannot be checked as an IP address";
    return "";
  }
  // OpenSSL refuses names it cannot check (an embedded NUL, over 255 bytes for SNI):
  // each refusal is an error, never a connection to an unchecked server.
  if (name.empty() || X509_VERIFY_PARAM_set1_host(param, name.data(), name.size()) != 1)
    return "server name '" + name + "' cannot be checked";
  if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) return "server name '" + name + "' cannot be sent (SNI)";
  return "";
}

std::string Result::reason() const {
  return is_status(body) ? jsonp::text(body, "/reason") : std::string();
}

std::string Result::describe() const {
  if (!transport_error.empty()) return transport_error;
  std::string out = std::to_string(status);
  if (is_status(body)) {
    const auto reason = jsonp::text(body, "/reason");
    const auto message = jsonp::text(body, "/message");
    if (!reason.empty()) out += " " + reason;
    if (!message.empty()) out += ": " + message;
  } else {
    out += " " + std::string(http::obsolete_reason(static_cast<http::status>(status)));
  }
  return out;
}

Client::Client(asio::any_io_executor ex, Connection conn, Logger& log, Metrics& metrics, ClientOptions options)
    : ex_(ex), conn_(std::move(conn)), log_(log), metrics_(metrics), options_(options) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (conn_.insecure_skip_verify) {
    ctx->set_verify_mode(asio::ssl::verify_none);
    log_.warn("k8s_insecure", {{"server", conn_.describe()}, {"detail", "insecure-skip-tls-verify: the API server is not authenticated"}});
  } else {
    if (conn_.ca_pem.empty()) throw K8sConfigError(conn_.describe() + ": no certificate authority for the API server");
    ctx->add_certificate_authority(asio::buffer(conn_.ca_pem), ec);
    if (ec) throw K8sConfigError(conn_.describe() + ": bad certificate authority: " + ec.message());
    ctx->set_verify_mode(asio::ssl::verify_peer);
  }
  if (!conn_.client_cert_pem.empty()) {
    ctx->use_certificate_chain(asio::buffer(conn_.client_cert_pem), ec);
    if (!ec) ctx->use_private_key(asio::buffer(conn_.client_key_pem), asio::ssl::context::pem, ec);
    if (ec) throw K8sConfigError(conn_.describe() + ": bad client certificate or key: " + ec.message());
  }
  tls_ = ctx;
  metrics_.help("distls_k8s_requests_total", "Kubernetes API requests, by verb and HTTP code (transport: no answer)");
  metrics_.help("distls_k8s_bad_events_total", "Watch events that could not be read");
}

namespace {

// Connects and shakes hands; the error says what failed, "" when the stream is ready.
asio::awaitable<std::string> open_stream(Stream& stream, const Connection& conn, std::chrono::milliseconds timeout) {
  // Before connecting: a name OpenSSL will not check would leave the server unchecked.
  if (auto err = expect_server_name(stream.native_handle(), conn.tls_server_name.empty() ? conn.host : conn.tls_server_name);
      !err.empty())
    co_return "checking " + conn.describe() + ": " + err;
  auto& tcp_stream = beast::get_lowest_layer(stream);
  tcp_stream.expires_after(timeout);
  auto failed = [&](const boost::system::error_code& ec) { return "connecting to " + conn.describe() + ": " + ec.message(); };
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(conn.host, ec);
  if (!ec) {
    auto [cec] = co_await tcp_stream.async_connect(tcp::endpoint(addr, conn.port), as_tuple(use_awaitable));
    if (cec) co_return failed(cec);
  } else {
    tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [rec, results] = co_await resolver.async_resolve(conn.host, std::to_string(conn.port), as_tuple(use_awaitable));
    if (rec) co_return failed(rec);
    auto [cec, ep] = co_await tcp_stream.async_connect(results, as_tuple(use_awaitable));
    if (cec) co_return failed(cec);
  }
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, as_tuple(use_awaitable));
  co_return hec ? failed(hec) : std::string();
}

template <class Body>
void prepare(http::request<Body>& req, const Connection& conn) {
  req.set(http::field::host, conn.host);
  req.set(http::field::user_agent, "distls");
  req.set(http::field::accept, "application/json");
  if (const auto token = current_token(conn); !token.empty())
    req.set(http::field::authorization, "Bearer " + token);
}

}  // namespace

asio::awaitable<Result> Client::once(http::verb verb, const std::string& target, const std::string& body, bool& sent,
                                     std::chrono::milliseconds timeout) {
  Result r;
  Stream stream(ex_, *std::static_pointer_cast<asio::ssl::context>(tls_));
  // One deadline for the whole exchange, connect to last byte.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (auto err = co_await open_stream(stream, conn_, timeout); !err.empty()) {
    r.transport_error = std::move(err);
    co_return r;
  }
  http::request<http::string_body> req{verb, conn_.base_path + target, 11};
  try {
    prepare(req, conn_);
  } catch (const std::exception& e) {
    r.transport_error = e.what();  // an unreadable token file: nothing was sent
    co_return r;
  }
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  beast::get_lowest_layer(stream).expires_at(deadline);
  auto [wec, wn] = co_await http::async_write(stream, req, as_tuple(use_awaitable));
  sent = wn > 0;
  if (wec) {
    r.transport_error = "sending to " + conn_.describe() + ": " + wec.message();
    co_return r;
  }
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  auto [rec, rn] = co_await http::async_read(stream, buf, parser, as_tuple(use_awaitable));
  if (rec) {
    r.transport_error = "reading from " + conn_.describe() + ": " + rec.message();
    co_return r;
  }
  r.status = static_cast<int>(parser.get().result_int());
  boost::system::error_code jec;
  if (!parser.get().body().empty()) r.body = json::parse(parser.get().body(), jec);
  if (jec) r.body = nullptr;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  co_await stream.async_shutdown(as_tuple(use_awaitable));
  co_return r;
}

asio::awaitable<Result> Client::request(http::verb verb, std::string target, std::optional<json::value> body) {
  co_return co_await request(verb, std::move(target), std::move(body), options_);
}

asio::awaitable<Result> Client::request(http::verb verb, std::string target, std::optional<json::value> body,
                                        ClientOptions budget) {
  const std::string payload = body ? json::serialize(*body) : std::string();
  Backoff backoff(budget.backoff, budget.backoff_cap);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  Result r;
  for (int attempt = 1;; ++attempt) {
    bool sent = false;
    r = co_await once(verb, target, payload, sent, budget.timeout);
    const std::string code = r.transport_error.empty() ? std::to_string(r.status) : "transport";
    metrics_.counter("distls_k8s_requests_total", {{"verb", http::to_string(verb)}, {"code", code}})++;
    const bool post = verb == http::verb::post;
    const bool retryable = (!r.transport_error.empty() && (!post || !sent)) || r.status == 429 ||
                           (!post && r.status >= 500);
    if (!retryable || attempt >= budget.attempts) co_return r;
    const auto wait = backoff.next(jitter(rng_));
    log_.warn("k8s_retry", {{"verb", std::string(http::to_string(verb))}, {"target", target},
                            {"attempt", attempt}, {"error", r.describe()}, {"retry_in_ms", wait.count()}});
    asio::steady_timer t(ex_, wait);
    co_await t.async_wait(as_tuple(use_awaitable));
  }
}

asio::awaitable<WatchEnd> Client::watch(std::string target, WatchHandler handler, std::chrono::seconds limit) {
  WatchEnd end;
  Stream stream(ex_, *std::static_pointer_cast<asio::ssl::context>(tls_));
  if (auto err = co_await open_stream(stream, conn_, options_.timeout); !err.empty()) {
    end.error = std::move(err);
    co_return end;
  }
  http::request<http::empty_body> req{http::verb::get, conn_.base_path + target, 11};
  try {
    prepare(req, conn_);
  } catch (const std::exception& e) {
    end.error = e.what();
    co_return end;
  }
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(options_.timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, as_tuple(use_awaitable));
  if (wec) {
    end.error = "sending to " + conn_.describe() + ": " + wec.message();
    co_return end;
  }
  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);  // a watch streams for as long as it lasts
  auto [hec, hn] = co_await http::async_read_header(stream, buf, parser, as_tuple(use_awaitable));
  if (hec) {
    end.error = "reading from " + conn_.describe() + ": " + hec.message();
    co_return end;
  }
  end.status = static_cast<int>(parser.get().result_int());
  std::string pending;
  char chunk[16 * 1024];
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    lowest.expires_at(deadline);
    auto [rec, rn] = co_await http::async_read_some(stream, buf, parser, as_tuple(use_awaitable));
    if (rec == http::error::need_buffer) rec = {};
    if (rec == beast::error::timeout) break;  // our limit: the caller re-watches
    if (rec) {
      end.error = "watch from " + conn_.describe() + ": " + rec.message();
      co_return end;
    }
    pending.append(chunk, sizeof chunk - parser.get().body().size);
    if (pending.size() > kWatchLineLimit) {
      end.error = "watch from " + conn_.describe() + ": an event line over 4 MiB";
      co_return end;
    }
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      const std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line.empty()) continue;
      if (end.status != 200) {
        // A refused watch answers with a Status object instead of events.
        Result r{"", end.status, json::parse(line, hec)};
        end.error = "watch refused: " + r.describe();
        co_return end;
      }
      boost::system::error_code jec;
      const auto event = json::parse(line, jec);
      const auto type = jsonp::text(event, "/type");
      const auto* object = jsonp::find(event, "/object");
      if (jec || type.empty() || !object) {
        metrics_.counter("distls_k8s_bad_events_total")++;
        log_.warn("k8s_bad_event", {{"target", target}, {"detail", line.substr(0, 200)}});
        continue;
      }
      if (!handler(type, *object)) co_return end;
    }
  }
  if (end.status != 200 && end.error.empty()) {
    boost::system::error_code jec;
    Result r{"", end.status, json::parse(pending, jec)};
    end.error = "watch refused: " + r.describe();
  }
  co_return end;
}

}  // namespace distls::k8s
