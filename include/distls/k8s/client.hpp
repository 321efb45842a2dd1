// A small Kubernetes API client on Boost.Beast + Boost.JSON over TLS: the requests
// distls and `distls signer` make, with timeouts, retries with backoff, Status errors
// decoded into clear messages, and watches read as a chunked stream of JSON lines.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>
#include <openssl/ssl.h>

#include "distls/k8s/kubeconfig.hpp"
#include "distls/util/log.hpp"
#include "distls/util/metrics.hpp"

namespace distls::k8s {

struct Result {
  std::string transport_error;  // non-empty when no HTTP answer came (connect, TLS, timeout)
  int status = 0;
  boost::json::value body;      // parsed JSON body (null if none or not JSON)

  bool ok() const { return transport_error.empty() && status >= 200 && status < 300; }
  // "409 Conflict: Operation cannot be fulfilled on ... (reason Conflict)" or the transport
  // error: what goes into logs.
  std::string describe() const;
  // The Status object's reason (NotFound, AlreadyExists, Conflict, Gone, ...), or "".
  std::string reason() const;
};

struct ClientOptions {
  std::chrono::milliseconds timeout{10000};      // one request, connect to last byte
  int attempts = 4;                              // for retryable failures
  std::chrono::milliseconds backoff{200};        // distls::Backoff: doubled per retry, equal jitter
  std::chrono::milliseconds backoff_cap{5000};
};

// One event of a watch: type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR) and object.
using WatchHandler = std::function<bool(const std::string& type, const boost::json::value& object)>;

struct WatchEnd {
  std::string error;  // "" when the server ended the stream (timeoutSeconds) or the handler stopped it
  int status = 0;     // HTTP status when the watch was refused outright
};

class Client {
 public:
  // Throws K8sConfigError when the connection's certificates cannot be loaded.
  Client(boost::asio::any_io_executor ex, Connection conn, Logger& log, Metrics& metrics, ClientOptions options = {});

  // GET, PUT and DELETE are retried on transport errors, 429 and 5xx; POST only on
  // transport errors that happened before the request was sent, and on 429.
  boost::asio::awaitable<Result> request(boost::beast::http::verb verb, std::string target,
                                         std::optional<boost::json::value> body = std::nullopt);
  // The same with its own time budget: a caller that must give up by a deadline (a
  // leader renewing its Lease) passes the time it has and the attempts it can afford.
  boost::asio::awaitable<Result> request(boost::beast::http::verb verb, std::string target,
                                         std::optional<boost::json::value> body, ClientOptions budget);

  // Streams `target` (which must ask for ?watch=true) and calls `handler` per event until
  // the server ends the stream, an error occurs, `handler` returns false, or `limit` passes.
  boost::asio::awaitable<WatchEnd> watch(std::string target, WatchHandler handler,
                                         std::chrono::seconds limit);

  const Connection& connection() const { return conn_; }

 private:
  struct Attempt;
  boost::asio::awaitable<Result> once(boost::beast::http::verb verb, const std::string& target,
                                      const std::string& body, bool& sent, std::chrono::milliseconds timeout);

  boost::asio::any_io_executor ex_;
  Connection conn_;
  Logger& log_;
  Metrics& metrics_;
  ClientOptions options_;
  std::shared_ptr<void> tls_;  // asio::ssl::context, built once from the connection
  std::mt19937_64 rng_{std::random_device{}()};  // the retries' jitter
};

// Sets the name the API server's certificate must carry (IP or DNS, as the kubeconfig's
// server or tls-server-name says) and SNI; "" when set, else why OpenSSL refused it.
std::string expect_server_name(SSL* ssl, const std::string& name);

// Query-string escaping for field selectors and names.
std::string url_escape(std::string_view s);

}  // namespace distls::k8s
