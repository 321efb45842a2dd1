// TLS over a connected TCP socket, driven by coroutines. One reader and one writer may
// be active at once (the two pumps of a tunnel); the io_context is single-threaded, so
// OpenSSL is never entered concurrently.
//
// Reading: OpenSSL reads the socket itself, through a small BIO of ours, with read-ahead
// (several records per recv()), so bulk ciphertext is not copied through a buffer of
// ours. After a short read the BIO does not try the socket again (OpenSSL's own read
// would return EAGAIN); waiting goes through Asio's async_read_some into a small stash
// that the BIO hands to OpenSSL first, so an idle stream holds 2 KiB and a small record
// arrives whole in the stash. Asio's edge-triggered reactor never misses an edge that
// way (an async_wait after a suspension can), but it still tries one recv() before
// waiting (see tunnel.hpp).
//
// Writing: every record OpenSSL produces (application data, handshake, alerts, KeyUpdate
// answers, close_notify) is appended to one buffer of ours and sent with one write, at
// most one write in flight at a time. Both pumps can cause output (SSL_read answers a
// KeyUpdate), so whoever finds output queued and nobody sending sends it, and a writer
// waits for the sender in flight rather than writing beside it. The buffer is freed when
// it has been sent, so an idle stream holds no ciphertext (and SSL_MODE_RELEASE_BUFFERS
// frees OpenSSL's own record buffers).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "distls/x509/ossl.hpp"
#include "distls/tls/tls_context.hpp"

namespace distls {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

class TlsStream {
 public:
  enum class Role { client, server };

  // Throws ossl::Error only when OpenSSL cannot allocate the SSL object.
  TlsStream(tcp::socket socket, std::shared_ptr<const TlsContext> ctx, Role role);
  // OpenSSL's BIOs point at this object.
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  SSL* ssl() const { return ssl_.get(); }
  tcp::socket& socket() { return socket_; }
  const asio::any_io_executor& get_executor() { return socket_.get_executor(); }
  // Moves the socket and the writers' timer to another event loop (a worker of
  // EventLoops). Only while no operation is in flight: between the handshake and the
  // splice, and back.
  void rebind(const asio::any_io_executor& ex);

  asio::awaitable<error_code> handshake();
  // Returns eof once the peer's close_notify arrived.
  asio::awaitable<std::pair<error_code, std::size_t>> read_some(asio::mutable_buffer buf);
  // For a pump that holds no buffer while idle: completes when read_ready() may return
  // data or the end, having held only the small stash meanwhile.
  asio::awaitable<error_code> wait_readable();
  // Decrypts what has arrived, up to buf.size(), without waiting for the peer:
  // would_block when no whole record is there. May send what OpenSSL answered.
  asio::awaitable<std::pair<error_code, std::size_t>> read_ready(asio::mutable_buffer buf);
  // Encrypts all of `buf` and sends it with one write; returns once it is sent.
  asio::awaitable<error_code> write_all(asio::const_buffer buf);
  // Sends close_notify and shuts down the sending half; reading may continue (TLS 1.3).
  asio::awaitable<error_code> shutdown_send();
  void close();

  // Why the last operation failed, for logs: OpenSSL's reason or the verify error.
  const std::string& failure() const { return failure_; }
  // Stable label for metrics after a failed handshake.
  std::string failure_label() const;

  // What the write side did, for tests and profiles: writes started on the socket, and
  // times OpenSSL output produced while reading was left to the write already in flight.
  std::uint64_t writes() const { return writes_; }
  std::uint64_t handed_to_writer() const { return handed_to_writer_; }
  // Ciphertext bytes held for sending, with their capacity: zero at rest.
  std::size_t queued_capacity() const { return out_.capacity() + sending_.capacity(); }

 private:
  // What the socket's read side is known to hold, from the last recv() of ours.
  enum class Rx : std::uint8_t {
    unknown,  // maybe more: the BIO may recv()
    drained,  // the last recv() was short or would block: wait through Asio first
    eof,
  };
  enum class Flush : std::uint8_t { all, if_idle };

  static const BIO_METHOD* bio_method();
  static int bio_read(BIO* b, char* out, std::size_t len, std::size_t* got);
  static int bio_write(BIO* b, const char* in, std::size_t len, std::size_t* put);
  static long bio_ctrl(BIO* b, int cmd, long num, void* ptr);

  template <class Op>
  asio::awaitable<std::pair<error_code, std::size_t>> drive(Op op, Flush flush);
  error_code classify(int r, int saved_errno);
  asio::awaitable<error_code> wait_socket();
  asio::awaitable<error_code> flush(Flush how);
  asio::awaitable<void> send_queued();

  tcp::socket socket_;
  std::shared_ptr<const TlsContext> ctx_;  // keeps the SSL_CTX alive as long as we are
  ossl::Ssl ssl_;
  std::string failure_;
  std::string failure_label_;

  // Read side. Small: it is what an idle stream waits with.
  std::array<std::uint8_t, 2048> stash_{};
  std::uint16_t stash_begin_ = 0, stash_end_ = 0;
  Rx rx_ = Rx::unknown;
  bool starved_ = false;  // OpenSSL asked for more bytes than have arrived
  error_code read_error_;  // met after data that read_ready returned first: its next answer

  // Write side: out_ gathers OpenSSL's output while sending_ is on the wire.
  std::vector<std::uint8_t> out_, sending_;
  bool sending_now_ = false;
  error_code write_error_;
  asio::steady_timer sent_;  // cancelled whenever a write ends: wakes waiting writers
  std::uint64_t writes_ = 0, handed_to_writer_ = 0;
};

}  // namespace distls
