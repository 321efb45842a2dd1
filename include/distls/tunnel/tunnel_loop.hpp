// Where a tunnel's sockets are driven while it splices (--threads): its handshake and
// admission run on main's loop; the splice moves both sockets to the loop EventLoops
// picks (a worker, unless main carries the fewest tunnels), and the tunnel comes back to
// main when the splice ends, with both sockets closed.
//
// What main does to a live tunnel (shutdown, a trust change) goes through close(): at
// once while the sockets are main's, else posted to the worker, where it is dropped if
// the splice has ended meanwhile (the tunnel's frame on main may be gone by then). The
// splice's end and a posted close run on the same worker thread, so that check needs
// no lock.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>

#include "distls/tls/tls_stream.hpp"
#include "distls/tunnel/tunnel.hpp"
#include "distls/util/event_loops.hpp"
#include "distls/util/tasks.hpp"

namespace distls {

class TunnelLoop {
 public:
  // Runs `close_sockets` where the sockets are. Called on main only.
  void close(std::function<void()> close_sockets) {
    if (!away_) return close_sockets();
    boost::asio::post(away_->executor(), [ended = ended_, close_sockets = std::move(close_sockets)] {
      if (!*ended) close_sockets();
    });
  }

  // Splices on the loop `loops` picks and returns on main's loop once it ended.
  template <class Plain>
  asio::awaitable<TunnelResult> splice(EventLoops& loops, Plain& plain, TlsStream& tls, TunnelCounters counters,
                                       asio::const_buffer initial_to_plain = {}) {
    auto lease = loops.pick();
    if (lease.on_main()) co_return co_await distls::splice(plain, tls, counters, initial_to_plain);
    const auto home = co_await asio::this_coro::executor;
    rebind_socket(plain, lease.executor());
    tls.rebind(lease.executor());
    ended_ = std::make_shared<bool>(false);
    away_.emplace(std::move(lease));
    auto result =
        co_await Tasks::run_on(away_->executor(), splice_there(plain, tls, counters, initial_to_plain, ended_));
    away_.reset();
    // Closed already; main's again, for their destructors and any late close().
    rebind_socket(plain, home);
    tls.rebind(home);
    co_return result;
  }

  // The loop the tunnel splices on now (0: main's).
  std::size_t loop() const { return away_ ? away_->index() : 0; }

 private:
  template <class Plain>
  static asio::awaitable<TunnelResult> splice_there(Plain& plain, TlsStream& tls, TunnelCounters counters,
                                                    asio::const_buffer initial, std::shared_ptr<bool> ended) {
    // Set even if the splice throws: the frame on main unwinds after that.
    struct Mark {
      std::shared_ptr<bool> ended;
      ~Mark() { *ended = true; }
    } mark{std::move(ended)};
    co_return co_await distls::splice(plain, tls, counters, initial);
  }

  std::optional<EventLoops::Lease> away_;
  std::shared_ptr<bool> ended_;  // while away_: set on the worker when the splice ends
};

}  // namespace distls
