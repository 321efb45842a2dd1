// The one accept loop every listener runs (TLS, EPMD, per-peer ports, the node's Unix
// socket, admin). An accept error such as EMFILE or ENFILE would come back at once,
// again and again: the loop backs off, 5 ms doubling to 1 s (as ghostunnel's), and
// resets once an accept works. It ends when the acceptor is closed.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/util/backoff.hpp"
#include "distls/util/log.hpp"
#include "distls/util/metrics.hpp"

namespace distls {

struct AcceptBackoff {
  std::chrono::milliseconds first{5};
  std::chrono::milliseconds cap{1000};
};

// `serve(socket)` is called for each accepted connection and must not block (it starts
// the connection's own coroutine). `metrics` may be null. Any Asio acceptor: TCP, or
// Unix-domain for the node's socket directory.
template <class Acceptor, class Serve>
boost::asio::awaitable<void> accept_loop(Acceptor& acceptor, Logger& log, Metrics* metrics,
                                         std::string listener, Serve serve, AcceptBackoff backoff = {}) {
  namespace asio = boost::asio;
  Backoff retry(backoff.first, backoff.cap);
  asio::steady_timer pause(acceptor.get_executor());
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
    if (!ec) {
      retry.reset();
      serve(std::move(sock));
      continue;
    }
    // No jitter (u = 1): the listeners of one process are not a fleet to spread out.
    const auto delay = retry.next(1.0);
    if (metrics) metrics->counter("distls_accept_errors_total", {{"listener", listener}})++;
    log.warn("accept_failed", {{"listener", listener}, {"error", ec}, {"retry_in_ms", delay.count()}});
    pause.expires_after(delay);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace distls
