// Admin HTTP (Boost.Beast), off the data path: /healthz, /readyz, /metrics, /peers and
// /certs. It knows nothing about the proxy; the proxy hands it the functions that answer.
#pragma once

#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "distls/log.hpp"

namespace distls {

struct AdminHandlers {
  std::function<bool(std::string& why_not)> ready;
  std::function<std::string()> metrics;  // Prometheus text
  std::function<std::string()> peers;    // JSON
  std::function<std::string()> certs;    // JSON
};

class AdminServer {
 public:
  AdminServer(boost::asio::any_io_executor ex, Logger& log, AdminHandlers handlers,
              const boost::asio::ip::tcp::endpoint& listen);
  void start();
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket s);

  boost::asio::any_io_executor ex_;
  Logger& log_;
  AdminHandlers handlers_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace distls
