// In-memory stand-ins for the two sides of a tunnel, for splice() and read_send_name()
// without sockets, as Beast tests its streams: every operation can be made to fail at
// the Nth call (boost::beast::test::fail_count), so a test can loop N from 0 upward
// and reach every error path in turn.
//
// MemorySocket is one end of a connection with the parts of tcp::socket that splice()
// uses, over boost::beast::test::stream; what Beast's stream lacks (half-close, a reset,
// a closed socket's bad_descriptor, a non-blocking read that would block) it adds as
// TCP behaves. MemoryTls has TlsStream's coroutine interface over a MemorySocket whose
// other end, remote(), the test drives as the peer's distls would: what it writes is
// what TLS would have decrypted, its shutdown(shutdown_send) is a close_notify, its
// close() a connection that ends without one, its reset() a reset.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/fail_count.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

namespace distls::test {

class MemorySocket {
 public:
  using executor_type = boost::beast::test::stream::executor_type;
  using protocol_type = boost::asio::ip::tcp;  // what it stands in for: splice() sets TCP_NODELAY
  using error_code = boost::system::error_code;
  // How the other end stopped sending: still open, a half-close (FIN), a close, a reset.
  enum class Ending { open, shutdown, closed, reset };

  explicit MemorySocket(boost::asio::io_context& io) : s_(io) {}
  // Every read, write and shutdown first asks `fc`.
  MemorySocket(boost::asio::io_context& io, boost::beast::test::fail_count& fc) : s_(io, fc), fc_(&fc) {}
  MemorySocket(const MemorySocket&) = delete;
  MemorySocket& operator=(const MemorySocket&) = delete;
  ~MemorySocket() {
    if (peer_) peer_->peer_ = nullptr;
  }

  friend void connect(MemorySocket& a, MemorySocket& b) {
    a.s_.connect(b.s_);
    a.peer_ = &b;
    b.peer_ = &a;
  }

  // At most `n` bytes per read or write: one message becomes several operations.
  void read_size(std::size_t n) { s_.read_size(n); }
  void write_size(std::size_t n) { s_.write_size(n); }
  // From now on every write fails with `ec` (and writes nothing).
  void fail_writes(error_code ec) { write_error_ = ec; }
  // The next shutdown fails with `ec`; nothing else does.
  void fail_shutdown(error_code ec) { shutdown_error_ = ec; }

  executor_type get_executor() { return s_.get_executor(); }
  bool is_open() const { return open_; }
  bool no_delay() const { return no_delay_; }
  bool non_blocking() const { return non_blocking_; }
  // A read now would not wait: bytes are buffered, or the other end stopped sending.
  bool readable_now() { return !open_ || s_.buffer().size() > 0 || peer_ending_ != Ending::open; }
  // Reads taken by the tunnel, for tests that count what a pattern of traffic costs.
  std::size_t reads() { return s_.nread(); }
  Ending peer_ending() const { return peer_ending_; }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (!open_) return complete(std::move(handler), boost::asio::error::bad_descriptor);
          s_.async_read_some(b, [this, h = std::move(handler)](error_code ec, std::size_t n) mutable {
            if (ec == boost::asio::error::eof && peer_ending_ == Ending::reset) ec = boost::asio::error::connection_reset;
            std::move(h)(ec, n);
          });
        },
        token, buffers);
  }

  // As a non-blocking socket's read: would_block when nothing has arrived. Like every
  // read, it first asks the fail count.
  template <class Buffers>
  std::size_t read_some(const Buffers& b, error_code& ec) {
    if (!non_blocking_) throw std::logic_error("MemorySocket::read_some would block: set non_blocking first");
    if (!open_) {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    if (!readable_now()) {
      if (fc_ && fc_->fail(ec)) return 0;
      ec = boost::asio::error::would_block;
      return 0;
    }
    const std::size_t n = s_.read_some(b, ec);
    if (ec == boost::asio::error::eof && peer_ending_ == Ending::reset) ec = boost::asio::error::connection_reset;
    return n;
  }

  void non_blocking(bool on, error_code& ec) {
    non_blocking_ = on;
    ec = {};
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (!open_) return complete(std::move(handler), boost::asio::error::bad_descriptor);
          if (write_error_) return complete(std::move(handler), write_error_);
          if (sent_fin_) return complete(std::move(handler), boost::asio::error::broken_pipe);
          if (peer_ending_ == Ending::reset) return complete(std::move(handler), boost::asio::error::connection_reset);
          s_.async_write_some(b, std::move(handler));
        },
        token, buffers);
  }

  void shutdown(boost::asio::socket_base::shutdown_type what, error_code& ec) {
    if (fc_ && fc_->fail(ec)) return;
    if ((ec = std::exchange(shutdown_error_, {}))) return;
    ec = open_ ? error_code{} : error_code{boost::asio::error::bad_descriptor};
    if (ec || what == boost::asio::socket_base::shutdown_receive || sent_fin_) return;
    sent_fin_ = true;
    if (peer_) {
      peer_->peer_ending_ = Ending::shutdown;
      peer_->s_.close_remote();  // the peer reads what is buffered, then eof
    }
  }

  void close(error_code& ec) {
    ec = {};
    if (!open_) return;
    open_ = false;
    if (peer_ && peer_->peer_ending_ == Ending::open) peer_->peer_ending_ = Ending::closed;
    s_.close();  // our pending read ends (operation_aborted); the peer reads eof
  }
  void close() {
    error_code ignored;
    close(ignored);
  }

  // Ends the connection as a reset would: the peer's reads and writes fail.
  void reset() {
    if (peer_ && open_) peer_->peer_ending_ = Ending::reset;
    close();
  }

  void set_option(const boost::asio::ip::tcp::no_delay& o, error_code& ec) {
    no_delay_ = o.value();
    ec = {};
  }

 private:
  template <class Handler>
  void complete(Handler h, error_code ec) {
    boost::asio::post(s_.get_executor(), [h = std::move(h), ec]() mutable { std::move(h)(ec, std::size_t{0}); });
  }

  boost::beast::test::stream s_;
  boost::beast::test::fail_count* fc_ = nullptr;
  MemorySocket* peer_ = nullptr;
  Ending peer_ending_ = Ending::open;
  error_code write_error_;
  error_code shutdown_error_;
  bool open_ = true;
  bool sent_fin_ = false;
  bool no_delay_ = false;
  bool non_blocking_ = false;
};

// TlsStream's interface after the handshake, in memory. Each read_some, write_all and
// shutdown_send first asks the fail count given at construction.
class MemoryTls {
 public:
  using error_code = boost::system::error_code;

  MemoryTls(boost::asio::io_context& io, boost::beast::test::fail_count& fc) : local_(io), remote_(io), fc_(fc) {
    connect(local_, remote_);
    error_code ignored;
    local_.non_blocking(true, ignored);  // TlsStream's socket is, from its handshake on
  }

  // The peer's distls, for the test to drive.
  MemorySocket& remote() { return remote_; }
  // Our end of the transport (read_size, to have the peer's bytes arrive in pieces).
  MemorySocket& transport() { return local_; }
  bool is_open() const { return local_.is_open(); }

  boost::asio::awaitable<std::pair<error_code, std::size_t>> read_some(boost::asio::mutable_buffer buf) {
    error_code ec;
    if (fc_.fail(ec)) co_return failed(ec, 0);
    auto [rec, n] = co_await local_.async_read_some(buf, boost::asio::as_tuple(boost::asio::use_awaitable));
    // TlsStream reports eof only for a close_notify; a connection that merely ended is
    // a truncation.
    if (rec == boost::asio::error::eof && local_.peer_ending() != MemorySocket::Ending::shutdown)
      rec = boost::asio::ssl::error::stream_truncated;
    if (rec && rec != boost::asio::error::eof) co_return failed(rec, n);
    co_return std::pair{rec, n};
  }

  boost::asio::awaitable<error_code> write_all(boost::asio::const_buffer buf) {
    error_code ec;
    if (fc_.fail(ec)) co_return failed(ec, 0).first;
    auto [wec, n] = co_await boost::asio::async_write(local_, buf, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (wec) co_return failed(wec, n).first;
    co_return error_code{};
  }

  boost::asio::awaitable<error_code> shutdown_send() {
    error_code ec;
    if (fc_.fail(ec)) co_return failed(ec, 0).first;
    local_.shutdown(boost::asio::socket_base::shutdown_send, ec);
    if (ec) co_return failed(ec, 0).first;
    co_return error_code{};
  }

  // As TlsStream's: waits holding only a small stash, then read_ready() takes what came.
  // Each asks the fail count first.
  boost::asio::awaitable<error_code> wait_readable() {
    error_code ec;
    if (fc_.fail(ec)) co_return failed(ec, 0).first;
    if (stash_begin_ < stash_end_ || local_.readable_now()) co_return error_code{};
    auto [rec, n] = co_await local_.async_read_some(boost::asio::buffer(stash_), boost::asio::as_tuple(boost::asio::use_awaitable));
    if (rec == boost::asio::error::eof) co_return error_code{};  // read_ready() reports the end
    if (rec) co_return failed(rec, n).first;
    stash_begin_ = 0;
    stash_end_ = n;
    co_return error_code{};
  }

  boost::asio::awaitable<std::pair<error_code, std::size_t>> read_ready(boost::asio::mutable_buffer buf) {
    error_code ec;
    if (fc_.fail(ec)) co_return failed(ec, 0);
    if (stash_begin_ < stash_end_) {
      const std::size_t n = boost::asio::buffer_copy(buf, boost::asio::buffer(stash_.data() + stash_begin_, stash_end_ - stash_begin_));
      stash_begin_ += n;
      co_return std::pair{error_code{}, n};
    }
    const std::size_t n = local_.read_some(buf, ec);
    if (ec == boost::asio::error::would_block) co_return std::pair{ec, std::size_t{0}};
    if (ec == boost::asio::error::eof && local_.peer_ending() != MemorySocket::Ending::shutdown)
      ec = boost::asio::ssl::error::stream_truncated;
    if (ec && ec != boost::asio::error::eof) co_return failed(ec, n);
    co_return std::pair{ec, n};
  }

  void close() { local_.close(); }
  const std::string& failure() const { return failure_; }

 private:
  std::pair<error_code, std::size_t> failed(error_code ec, std::size_t n) {
    failure_ = "memory: " + ec.message();
    return {ec, n};
  }

  MemorySocket local_;
  MemorySocket remote_;
  boost::beast::test::fail_count& fc_;
  std::string failure_;
  std::array<char, 8> stash_{};
  std::size_t stash_begin_ = 0, stash_end_ = 0;
};

// Runs `op` on `io` until it completes, or until `limit` passes or nothing is left that
// could make progress: nullopt then, a hang. The limit is a generous guard, not a
// timing expectation.
template <class T>
std::optional<T> run_or_hang(boost::asio::io_context& io, boost::asio::awaitable<T> op,
                             std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
  auto f = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > deadline || io.stopped()) return std::nullopt;
    io.run_one_for(std::chrono::milliseconds(100));
  }
  return f.get();
}

}  // namespace distls::test
