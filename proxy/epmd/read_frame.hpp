// The one frame a local client sends first, on the EPMD port and on the dial socket
// alike: a 2-byte big-endian length, then that many bytes, all within a deadline (a
// client that stalls holds a connection slot, nothing more, and not for long).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/util/deadline.hpp"

namespace distls {

struct Frame {
  // Empty when `body` holds the frame; else "timeout", "truncated" (the client closed
  // early), "empty" (length 0) or "oversized" (over the caller's maximum).
  std::string_view error;
  std::vector<std::uint8_t> body;
};

template <class Stream>
boost::asio::awaitable<Frame> read_frame(Stream& s, std::size_t max_length, std::chrono::steady_clock::duration limit) {
  namespace asio = boost::asio;
  auto read = [&]() -> asio::awaitable<Frame> {
    std::array<std::uint8_t, 2> len{};
    auto [ec, n] = co_await asio::async_read(s, asio::buffer(len), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return Frame{"truncated", {}};
    const std::size_t size = std::size_t{len[0]} << 8 | len[1];
    if (size == 0) co_return Frame{"empty", {}};
    if (size > max_length) co_return Frame{"oversized", {}};
    Frame f{{}, std::vector<std::uint8_t>(size)};
    auto [bec, bn] = co_await asio::async_read(s, asio::buffer(f.body), asio::as_tuple(asio::use_awaitable));
    if (bec) co_return Frame{"truncated", {}};
    co_return f;
  };
  auto got = co_await within(limit, read());
  if (!got) co_return Frame{"timeout", {}};
  co_return std::move(*got);
}

}  // namespace distls
