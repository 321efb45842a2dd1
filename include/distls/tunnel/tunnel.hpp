// A tunnel splices a plain connection to the local Erlang node (loopback TCP, or a
// Unix-domain socket for -proto_dist distls) and a TLS connection (a peer's distls).
// Two pumps, one per direction: a pump reads only after its last write completed, so
// backpressure reaches the sender.
//
// Memory at rest: a waiting pump holds only a small first-read buffer (the plain side)
// or TlsStream's stash (the TLS side). A large buffer is taken from the loop's
// PumpBuffers when a burst arrives and given back as soon as a read comes back short
// or would block, so an idle tunnel holds no large buffer at all.
//
// Syscalls: waiting goes through Asio's async_read_some, which never misses an edge of
// its edge-triggered reactor (an async_wait started after a suspension can: the edge
// may have come and gone). It does try one recv() before waiting, which on the
// round-trip path returns EAGAIN: Asio counts only a zero-byte read as having emptied
// the socket. Arming an async_wait right after a short read, before the pump suspends,
// would save that recv() on each side; not done yet. A large-buffer read is tried
// again at once only after one that filled the buffer: that is where it pays.
//
// splice() is a template over both sides so that its tests can run it over in-memory
// streams that fail at the Nth operation (tests/proxy/tunnel/memory_sides.hpp). distls
// itself uses the instantiations below, compiled once in tunnel.cpp.
//   Plain: as tcp::socket or asio::local::stream_protocol::socket: async_read_some,
//          read_some(buf, ec) (non-blocking), async_write_some (asio::async_write),
//          non_blocking(true, ec), shutdown(shutdown_send, ec), close(ec), and
//          set_option(tcp::no_delay, ec) when its protocol_type is tcp.
//   Tls:   as TlsStream: wait_readable, read_ready, write_all, shutdown_send
//          (awaitables), close().
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "distls/tls/tls_stream.hpp"
#include "distls/tunnel/pump_buffers.hpp"

namespace distls {

// What a waiting plain-side pump holds. A round trip's messages (a gen_server call, a
// ping) fit, so they never take a large buffer.
inline constexpr std::size_t kFirstReadSize = 2048;

// Metrics counters (util/metrics.hpp), added to atomically: a tunnel's pumps may run on
// a worker loop while main renders /metrics.
struct TunnelCounters {
  std::uint64_t& plain_to_tls;  // bytes sent to the peer
  std::uint64_t& tls_to_plain;  // bytes received from the peer
};

struct TunnelResult {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::string end;  // "closed" when both sides finished cleanly, else the first error
};

namespace tunnel_detail {

template <class Plain, class Tls>
struct Shared {
  Plain& plain;
  Tls& tls;
  TunnelResult result;

  void fail(const char* where, const error_code& ec) {
    if (result.end.empty()) result.end = std::string(where) + ": " + ec.message();
    error_code ignored;
    plain.close(ignored);
    tls.close();
  }
};

template <class Plain, class Tls>
asio::awaitable<void> plain_to_tls(Shared<Plain, Tls>& s, std::uint64_t& counter) {
  using asio::as_tuple;
  using asio::use_awaitable;
  auto& pool = PumpBuffers::of(s.plain.get_executor());
  std::array<std::uint8_t, kFirstReadSize> first;
  auto send = [&](const std::uint8_t* data, std::size_t n) -> asio::awaitable<bool> {
    if (auto wec = co_await s.tls.write_all(asio::buffer(data, n))) {
      s.fail("peer", wec);
      co_return false;
    }
    s.result.sent += n;
    std::atomic_ref(counter).fetch_add(n, std::memory_order_relaxed);
    co_return true;
  };
  auto end = [&]() -> asio::awaitable<void> {
    if (auto sec = co_await s.tls.shutdown_send()) s.fail("peer", sec);
  };
  for (;;) {
    auto [ec, n] = co_await s.plain.async_read_some(asio::buffer(first), as_tuple(use_awaitable));
    if (ec == asio::error::eof) co_return co_await end();
    if (ec) co_return s.fail("node", ec);
    if (n < first.size()) {
      if (!co_await send(first.data(), n)) co_return;
      continue;
    }
    // A burst: more may be waiting than the first buffer took.
    auto buf = pool.take();
    std::memcpy(buf.data(), first.data(), n);
    std::size_t fill = n;
    for (;;) {
      error_code rec;
      fill += s.plain.read_some(asio::buffer(buf.data() + fill, buf.size() - fill), rec);
      const bool full = fill == buf.size();
      if (fill > 0 && !co_await send(buf.data(), fill)) co_return;
      if (rec == asio::error::eof) co_return co_await end();
      if (rec && rec != asio::error::would_block) co_return s.fail("node", rec);
      if (rec || !full) break;  // emptied: give the buffer back and wait
      fill = 0;
    }
  }
}

template <class Plain, class Tls>
asio::awaitable<void> tls_to_plain(Shared<Plain, Tls>& s, std::uint64_t& counter, asio::const_buffer initial) {
  using asio::as_tuple;
  using asio::use_awaitable;
  // What reached the node counts, even when the write then failed part-way.
  auto delivered = [&](std::size_t w) {
    s.result.received += w;
    std::atomic_ref(counter).fetch_add(w, std::memory_order_relaxed);
  };
  if (initial.size() > 0) {
    auto [ec, n] = co_await asio::async_write(s.plain, initial, as_tuple(use_awaitable));
    delivered(n);
    if (ec) co_return s.fail("node", ec);
  }
  auto& pool = PumpBuffers::of(s.plain.get_executor());
  for (;;) {
    if (auto wec = co_await s.tls.wait_readable()) co_return s.fail("peer", wec);
    auto buf = pool.take();
    for (;;) {
      auto [ec, n] = co_await s.tls.read_ready(asio::buffer(buf.data(), buf.size()));
      if (ec == asio::error::would_block) break;
      if (ec == asio::error::eof) {
        error_code sec;
        s.plain.shutdown(asio::socket_base::shutdown_send, sec);
        if (sec) s.fail("node", sec);
        co_return;
      }
      if (ec) co_return s.fail("peer", ec);
      auto [wec, w] = co_await asio::async_write(s.plain, asio::buffer(buf.data(), n), as_tuple(use_awaitable));
      delivered(w);
      if (wec) co_return s.fail("node", wec);
      if (n < buf.size()) break;  // what had arrived is delivered: give the buffer back
    }
  }
}

template <class Plain>
void tune(Plain& plain) {
  error_code ignored;
  // read_some must come back with would_block, not wait: the pumps wait through Asio.
  plain.non_blocking(true, ignored);
  if constexpr (std::is_same_v<typename Plain::protocol_type, tcp>) plain.set_option(tcp::no_delay(true), ignored);
}

}  // namespace tunnel_detail

// Runs until both directions are closed, or either fails (then both are closed).
// `initial_to_plain` is written to the plain side first: the handshake frame an inbound
// tunnel had to read to check the peer's name.
template <class Plain, class Tls>
asio::awaitable<TunnelResult> splice(Plain& plain, Tls& tls, TunnelCounters counters,
                                     asio::const_buffer initial_to_plain = {}) {
  using namespace asio::experimental::awaitable_operators;
  tunnel_detail::tune(plain);
  tunnel_detail::Shared<Plain, Tls> s{plain, tls, {}};
  co_await (tunnel_detail::plain_to_tls(s, counters.plain_to_tls) &&
            tunnel_detail::tls_to_plain(s, counters.tls_to_plain, initial_to_plain));
  if (s.result.end.empty()) s.result.end = "closed";
  error_code ignored;
  plain.close(ignored);
  tls.close();
  co_return s.result;
}

extern template asio::awaitable<TunnelResult> splice<tcp::socket, TlsStream>(tcp::socket&, TlsStream&, TunnelCounters,
                                                                             asio::const_buffer);
extern template asio::awaitable<TunnelResult> splice<asio::local::stream_protocol::socket, TlsStream>(
    asio::local::stream_protocol::socket&, TlsStream&, TunnelCounters, asio::const_buffer);

}  // namespace distls
