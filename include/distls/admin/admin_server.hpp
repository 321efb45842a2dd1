// Admin HTTP (Boost.Beast), off the data path: /healthz, /readyz, /metrics, /peers and
// /certs. It knows nothing about the proxy; the proxy hands it the functions that answer.
// Probes reach it from the kubelet, so it may listen beyond loopback; what it tells a
// client that is not on loopback is limited by `expose`: the certificates and the peer
// table describe the cluster to whoever asks.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "distls/util/log.hpp"
#include "distls/util/sessions.hpp"
#include "distls/util/tasks.hpp"

namespace distls {

struct AdminHandlers {
  std::function<bool(std::string& why_not)> ready;
  std::function<std::string()> metrics;  // Prometheus text
  std::function<std::string()> peers;    // JSON
  std::function<std::string()> certs;    // JSON
};

// What the admin server answers to clients beyond loopback (loopback gets everything).
enum class AdminExposure { probes, metrics, all };
std::optional<AdminExposure> parse_admin_exposure(std::string_view v);  // probes|metrics|all
AdminExposure admin_exposure_option(std::string_view v);                 // throws ConfigError

struct AdminOptions {
  AdminExposure expose = AdminExposure::probes;
  std::size_t max_connections = 64;  // beyond that, new connections are closed at once
  std::chrono::seconds idle_timeout{10};  // per request, and between keep-alive requests
};

class AdminServer {
 public:
  // Connections are spawned in `tasks` and registered in `sessions`, the process's own.
  AdminServer(boost::asio::any_io_executor ex, Logger& log, Tasks& tasks, Sessions& sessions, AdminHandlers handlers,
              const boost::asio::ip::tcp::endpoint& listen, AdminOptions options = {});
  void start();
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  std::size_t active() const { return active_; }

 private:
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket s);

  boost::asio::any_io_executor ex_;
  Logger& log_;
  Tasks& tasks_;
  Sessions& sessions_;
  AdminHandlers handlers_;
  AdminOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::size_t active_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace distls
