// Every wait a peer controls (a TLS handshake, the first distribution frame, an EPMD
// request) runs against a deadline: the operation and a timer race, and the loser is
// cancelled. Without it a port scanner that connects and says nothing would hold a
// coroutine and a descriptor forever.
#pragma once

#include <chrono>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace distls {

// The operation's result, or nullopt when the deadline passed first.
template <class T>
boost::asio::awaitable<std::optional<T>> within(std::chrono::steady_clock::duration limit,
                                                boost::asio::awaitable<T> op) {
  namespace asio = boost::asio;
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto r = co_await (std::move(op) || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 0) co_return std::get<0>(std::move(r));
  co_return std::nullopt;
}

}  // namespace distls
