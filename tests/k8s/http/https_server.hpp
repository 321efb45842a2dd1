// The double's HTTPS listener (Boost.Beast over TLS): one coroutine per connection,
// HTTP/1.1 keep-alive, watch responses streamed as chunked JSON lines, and the connection
// faults (hang, drop, delay) the dispatcher asks for.
#pragma once

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "distls/util/log.hpp"
#include "tests/k8s/api/dispatcher.hpp"
#include "tests/k8s/store/object_store.hpp"
#include "tests/k8s/store/watch_hub.hpp"

namespace distls::k8s_double {

struct ServerTimings {
  std::chrono::seconds handshake{10};
  std::chrono::seconds idle{120};              // keep-alive connections with no request
  std::chrono::seconds bookmark_interval{60};  // for watches with allowWatchBookmarks=true
  std::chrono::seconds hang_cap{600};          // a hung request is released after this at the latest
};

class HttpsServer {
 public:
  HttpsServer(boost::asio::any_io_executor ex, boost::asio::ssl::context& tls, Dispatcher& dispatcher,
              const ObjectStore& store, WatchHub& watches, Logger& log,
              const boost::asio::ip::tcp::endpoint& listen, ServerTimings timings);

  void start();
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  // Wakes every watch coroutine (store writes, control API).
  void wake_watches() { changed_.cancel(); }

 private:
  boost::asio::awaitable<void> accept_loop();
  // co_spawn's completion handler: logs an exception that ended a coroutine.
  auto report_end(const char* what);
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket s);

  boost::asio::any_io_executor ex_;
  boost::asio::ssl::context& tls_;
  Dispatcher& dispatcher_;
  const ObjectStore& store_;
  WatchHub& watches_;
  Logger& log_;
  boost::asio::ip::tcp::acceptor acceptor_;
  ServerTimings timings_;
  boost::asio::steady_timer changed_;  // never expires; cancel() is the broadcast
};

}  // namespace distls::k8s_double
