// How a long-running loop is told to end: `until_stopped(stop, loop())` runs the loop
// until it returns or stop.request() is called. Then the loop's pending operation is
// cancelled (Asio's per-operation cancellation reaches timers, sockets, TLS and Beast
// streams) and its next co_await throws operation_aborted, so the loop unwinds at once
// instead of after its current wait (a watch of minutes, a renewal's CSR wait).
#pragma once

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace distls {

class StopSignal {
 public:
  explicit StopSignal(boost::asio::any_io_executor ex) : timer_(ex, boost::asio::steady_timer::time_point::max()) {}
  void request() {
    requested_ = true;
    timer_.cancel();
  }
  bool requested() const { return requested_; }
  boost::asio::awaitable<void> wait() {
    if (!requested_) co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

 private:
  boost::asio::steady_timer timer_;
  bool requested_ = false;
};

inline boost::asio::awaitable<void> until_stopped(StopSignal& stop, boost::asio::awaitable<void> loop) {
  using namespace boost::asio::experimental::awaitable_operators;
  co_await (std::move(loop) || stop.wait());
}

}  // namespace distls
