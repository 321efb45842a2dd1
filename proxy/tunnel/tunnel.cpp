#include "distls/tunnel/tunnel.hpp"

#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace distls {
namespace {

using asio::as_tuple;
using asio::use_awaitable;

struct Shared {
  tcp::socket& plain;
  TlsStream& tls;
  TunnelResult result;

  void fail(const char* where, const error_code& ec) {
    if (result.end.empty()) result.end = std::string(where) + ": " + ec.message();
    error_code ignored;
    plain.close(ignored);
    tls.close();
  }
};

asio::awaitable<void> plain_to_tls(Shared& s, std::uint64_t& counter) {
  auto buf = std::make_unique<std::uint8_t[]>(kPumpBufferSize);
  for (;;) {
    auto [ec, n] = co_await s.plain.async_read_some(asio::buffer(buf.get(), kPumpBufferSize),
                                                    as_tuple(use_awaitable));
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

asio::awaitable<void> tls_to_plain(Shared& s, std::uint64_t& counter, asio::const_buffer initial) {
  if (initial.size() > 0) {
    auto [ec, n] = co_await asio::async_write(s.plain, initial, as_tuple(use_awaitable));
    if (ec) co_return s.fail("node", ec);
    s.result.received += n;
    counter += n;
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
    auto [wec, w] = co_await asio::async_write(s.plain, asio::buffer(buf.get(), n), as_tuple(use_awaitable));
    if (wec) co_return s.fail("node", wec);
    s.result.received += n;
    counter += n;
  }
}

}  // namespace

asio::awaitable<TunnelResult> splice(tcp::socket& plain, TlsStream& tls, TunnelCounters counters,
                                     asio::const_buffer initial_to_plain) {
  using namespace asio::experimental::awaitable_operators;
  error_code ignored;
  plain.set_option(tcp::no_delay(true), ignored);
  Shared s{plain, tls, {}};
  co_await (plain_to_tls(s, counters.plain_to_tls) &&
            tls_to_plain(s, counters.tls_to_plain, initial_to_plain));
  if (s.result.end.empty()) s.result.end = "closed";
  plain.close(ignored);
  tls.close();
  co_return s.result;
}

}  // namespace distls
