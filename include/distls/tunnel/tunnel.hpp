// A tunnel splices a plain loopback connection (the local Erlang node) and a TLS
// connection (a peer's distls). Two pumps, one per direction, each with one reused
// buffer: a pump reads only after its last write completed, so backpressure reaches the
// sender and memory per tunnel is bounded by two buffers plus OpenSSL's records.
//
// splice() is a template over both sides so that its tests can run it over in-memory
// streams that fail at the Nth operation (tests/proxy/tunnel/memory_sides.hpp). distls
// itself uses one instantiation, <tcp::socket, TlsStream>, compiled once in tunnel.cpp:
// the same code as a plain function, no virtual call or allocation per chunk.
//   Plain: as tcp::socket: async_read_some, async_write_some (asio::async_write),
//          shutdown(shutdown_send, ec), close(ec), set_option(tcp::no_delay, ec).
//   Tls:   as TlsStream: read_some, write_all, shutdown_send (awaitables), close().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "distls/tls/tls_stream.hpp"

namespace distls {

// Large enough to take a 64 KiB distribution message and its header in one read.
inline constexpr std::size_t kPumpBufferSize = 128 * 1024;

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
  auto buf = std::make_unique<std::uint8_t[]>(kPumpBufferSize);
  for (;;) {
    auto [ec, n] = co_await s.plain.async_read_some(asio::buffer(buf.get(), kPumpBufferSize),
                                                    asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) {
      if (auto sec = co_await s.tls.shutdown_send()) s.fail("peer", sec);
      co_return;
    }
    if (ec) co_return s.fail("node", ec);
    if (auto wec = co_await s.tls.write_all(asio::buffer(buf.get(), n))) co_return s.fail("peer", wec);
    s.result.sent += n;
    counter += n;
  }
}

template <class Plain, class Tls>
asio::awaitable<void> tls_to_plain(Shared<Plain, Tls>& s, std::uint64_t& counter, asio::const_buffer initial) {
  // What reached the node counts, even when the write then failed part-way.
  auto delivered = [&](std::size_t w) {
    s.result.received += w;
    counter += w;
  };
  if (initial.size() > 0) {
    auto [ec, n] = co_await asio::async_write(s.plain, initial, asio::as_tuple(asio::use_awaitable));
    delivered(n);
    if (ec) co_return s.fail("node", ec);
  }
  auto buf = std::make_unique<std::uint8_t[]>(kPumpBufferSize);
  for (;;) {
    auto [ec, n] = co_await s.tls.read_some(asio::buffer(buf.get(), kPumpBufferSize));
    if (ec == asio::error::eof) {
      error_code sec;
      s.plain.shutdown(tcp::socket::shutdown_send, sec);
      if (sec) s.fail("node", sec);
      co_return;
    }
    if (ec) co_return s.fail("peer", ec);
    auto [wec, w] = co_await asio::async_write(s.plain, asio::buffer(buf.get(), n), asio::as_tuple(asio::use_awaitable));
    delivered(w);
    if (wec) co_return s.fail("node", wec);
  }
}

}  // namespace tunnel_detail

// Runs until both directions are closed, or either fails (then both are closed).
// `initial_to_plain` is written to the plain side first: the handshake frame an inbound
// tunnel had to read to check the peer's name.
template <class Plain, class Tls>
asio::awaitable<TunnelResult> splice(Plain& plain, Tls& tls, TunnelCounters counters,
                                     asio::const_buffer initial_to_plain = {}) {
  using namespace asio::experimental::awaitable_operators;
  error_code ignored;
  plain.set_option(tcp::no_delay(true), ignored);
  tunnel_detail::Shared<Plain, Tls> s{plain, tls, {}};
  co_await (tunnel_detail::plain_to_tls(s, counters.plain_to_tls) &&
            tunnel_detail::tls_to_plain(s, counters.tls_to_plain, initial_to_plain));
  if (s.result.end.empty()) s.result.end = "closed";
  plain.close(ignored);
  tls.close();
  co_return s.result;
}

extern template asio::awaitable<TunnelResult> splice<tcp::socket, TlsStream>(tcp::socket&, TlsStream&, TunnelCounters,
                                                                             asio::const_buffer);

}  // namespace distls
