#include "distls/tls/tls_stream.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "distls/tls/peer_verifier.hpp"
#include "distls/util/event_loops.hpp"

namespace distls {

namespace {
// A TLS 1.3 record adds a 5-byte header, the content type and a 16-byte tag to at most
// 16 KiB of data (TLS 1.2 GCM: 5 + 8 + 16): reserving this per record up front keeps
// one SSL_write from reallocating the output buffer record by record.
constexpr std::size_t kRecordOverhead = 32;
constexpr std::size_t kRecordData = 16 * 1024;
}  // namespace

TlsStream::TlsStream(tcp::socket socket, std::shared_ptr<const TlsContext> ctx, Role role)
    : socket_(std::move(socket)), ctx_(std::move(ctx)), sent_(socket_.get_executor()) {
  sent_.expires_at(asio::steady_timer::time_point::max());
  ssl_.reset(SSL_new(role == Role::server ? ctx_->server() : ctx_->client()));
  if (!ssl_) ossl::fail("SSL_new");
  // Whatever the context says: an idle tunnel must not hold OpenSSL's record buffers,
  // and one SSL_write encrypts all its records before returning (with partial writes
  // it returns after each record, and each would be sent on its own).
  SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
  SSL_clear_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE);
  BIO* bio = BIO_new(bio_method());
  if (!bio) ossl::fail("BIO_new");
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // one BIO both ways: SSL owns its one reference
  if (role == Role::server)
    SSL_set_accept_state(ssl_.get());
  else
    SSL_set_connect_state(ssl_.get());
}

void TlsStream::rebind(const asio::any_io_executor& ex) {
  rebind_socket(socket_, ex);
  // The BIO's recv() must never block a loop; the descriptor is non-blocking already,
  // and the new socket object is told so.
  error_code ignored;
  if (socket_.is_open()) socket_.non_blocking(true, ignored);
  sent_ = asio::steady_timer(ex);
  sent_.expires_at(asio::steady_timer::time_point::max());
}

// Built once and never changed: OpenSSL keeps a pointer to it in every BIO.
const BIO_METHOD* TlsStream::bio_method() {
  static const BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "distls stream");
    if (!m || BIO_meth_set_read_ex(m, &TlsStream::bio_read) != 1 ||
        BIO_meth_set_write_ex(m, &TlsStream::bio_write) != 1 || BIO_meth_set_ctrl(m, &TlsStream::bio_ctrl) != 1)
      ossl::fail("BIO_meth_new");
    return m;
  }();
  return method;
}

int TlsStream::bio_read(BIO* b, char* out, std::size_t len, std::size_t* got) {
  auto& s = *static_cast<TlsStream*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  *got = 0;
  if (s.stash_begin_ < s.stash_end_) {
    const std::size_t n = std::min<std::size_t>(len, s.stash_end_ - s.stash_begin_);
    std::memcpy(out, s.stash_.data() + s.stash_begin_, n);
    s.stash_begin_ = static_cast<std::uint16_t>(s.stash_begin_ + n);
    *got = n;
    return 1;
  }
  if (s.rx_ == Rx::eof) return 0;
  // After a short read the socket is empty: a recv() here would return EAGAIN. The
  // socket is waited for (and read first) by wait_socket(), through Asio.
  if (s.rx_ == Rx::drained || !s.socket_.is_open()) {
    BIO_set_retry_read(b);
    return 0;
  }
  for (;;) {
    const ssize_t r = ::recv(s.socket_.native_handle(), out, len, 0);
    if (r > 0) {
      // A short read emptied the socket; a full one may have left more.
      if (static_cast<std::size_t>(r) < len) s.rx_ = Rx::drained;
      *got = static_cast<std::size_t>(r);
      return 1;
    }
    if (r == 0) {
      s.rx_ = Rx::eof;  // BIO_eof() then tells OpenSSL the peer is gone
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      s.rx_ = Rx::drained;
      BIO_set_retry_read(b);
    }
    return 0;  // errno says why; drive() reports it
  }
}

int TlsStream::bio_write(BIO* b, const char* in, std::size_t len, std::size_t* put) {
  auto& s = *static_cast<TlsStream*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  // resize + memcpy: insert() from a char range into uint8_t copies byte by byte.
  const std::size_t at = s.out_.size();
  s.out_.resize(at + len);
  std::memcpy(s.out_.data() + at, in, len);
  *put = len;
  return 1;
}

long TlsStream::bio_ctrl(BIO* b, int cmd, long, void*) {
  auto& s = *static_cast<TlsStream*>(BIO_get_data(b));
  switch (cmd) {
    case BIO_CTRL_EOF:
      return s.rx_ == Rx::eof ? 1 : 0;
    case BIO_CTRL_FLUSH:  // handshake flights: they are sent when the operation returns
      return 1;
    case BIO_CTRL_PENDING:
      return s.stash_end_ - s.stash_begin_;
    default:
      return 0;
  }
}

error_code TlsStream::classify(int r, int saved_errno) {
  const int err = SSL_get_error(ssl_.get(), r);
  if (err == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  if (err == SSL_ERROR_SYSCALL && saved_errno != 0) {
    error_code ec(saved_errno, boost::system::system_category());
    failure_ = ec.message();
    return ec;
  }
  const unsigned long e = ERR_peek_last_error();
  // OpenSSL 3 reports a peer that closed without close_notify as an error of its own
  // (1.1 queued none): the same truncation either way, as Asio's engine treats it.
  if (e == 0 || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    failure_ = "connection closed without close_notify";
    return asio::ssl::error::stream_truncated;
  }
  failure_ = ossl::drain_errors();
  return error_code(static_cast<int>(e), asio::error::get_ssl_category());
}

template <class Op>
asio::awaitable<std::pair<error_code, std::size_t>> TlsStream::drive(Op op, Flush how) {
  for (;;) {
    // After close() the descriptor number may already belong to another socket:
    // OpenSSL must never touch it again.
    if (!socket_.is_open()) co_return std::pair{error_code{asio::error::bad_descriptor}, std::size_t{0}};
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int r = op(n);
    const int saved_errno = errno;
    const int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), r);
    if (err == SSL_ERROR_NONE || err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (auto fec = co_await flush(how)) co_return std::pair{fec, std::size_t{0}};
      if (err == SSL_ERROR_NONE) {
        starved_ = false;
        co_return std::pair{error_code{}, n};
      }
      if (err == SSL_ERROR_WANT_READ) {
        starved_ = true;
        if (auto wec = co_await wait_socket()) co_return std::pair{wec, std::size_t{0}};
      }
      continue;
    }
    const error_code ec = classify(r, saved_errno);
    // An alert OpenSSL queued tells the peer why (a refused certificate, a version it
    // will not speak): best effort, the failure stands either way.
    if (!out_.empty()) co_await flush(how);
    co_return std::pair{ec, std::size_t{0}};
  }
}

asio::awaitable<error_code> TlsStream::wait_socket() {
  using asio::as_tuple;
  using asio::use_awaitable;
  if (stash_begin_ < stash_end_ || rx_ != Rx::drained) co_return error_code{};
  if (!socket_.is_open()) co_return error_code{asio::error::bad_descriptor};
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(stash_), as_tuple(use_awaitable));
  starved_ = false;
  if (ec == asio::error::eof) {
    rx_ = Rx::eof;
    co_return error_code{};  // OpenSSL learns it from the BIO: close_notify or truncation
  }
  if (ec) {
    failure_ = ec.message();
    co_return ec;
  }
  stash_begin_ = 0;
  stash_end_ = static_cast<std::uint16_t>(n);
  if (n == stash_.size()) rx_ = Rx::unknown;
  co_return error_code{};
}

asio::awaitable<error_code> TlsStream::wait_readable() {
  if (!starved_ && SSL_has_pending(ssl_.get()) == 1) co_return error_code{};
  co_return co_await wait_socket();
}

asio::awaitable<void> TlsStream::send_queued() {
  sending_now_ = true;
  std::swap(out_, sending_);
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(sending_), asio::as_tuple(asio::use_awaitable));
  ++writes_;
  sending_now_ = false;
  if (ec && !write_error_) write_error_ = ec;
  // Sent: free it, unless more is already queued behind it (a burst in progress).
  if (out_.empty()) {
    std::vector<std::uint8_t>().swap(sending_);
    std::vector<std::uint8_t>().swap(out_);
  } else {
    sending_.clear();
  }
  sent_.cancel();
}

asio::awaitable<error_code> TlsStream::flush(Flush how) {
  using asio::as_tuple;
  using asio::use_awaitable;
  if (how == Flush::if_idle) {
    // The reader never waits behind a writer: the write in flight sends this too.
    if (sending_now_) {
      if (!out_.empty()) ++handed_to_writer_;
    } else if (!out_.empty() && !write_error_) {
      co_await send_queued();
    }
    co_return write_error_;
  }
  for (;;) {
    if (write_error_) co_return write_error_;
    if (sending_now_) {
      co_await sent_.async_wait(as_tuple(use_awaitable));
      continue;
    }
    if (out_.empty()) co_return error_code{};
    co_await send_queued();
  }
}

asio::awaitable<error_code> TlsStream::handshake() {
  // A dialling stream gets its descriptor only once connected.
  error_code ec0;
  socket_.non_blocking(true, ec0);
  if (!ec0) socket_.set_option(tcp::no_delay(true), ec0);
  if (ec0) co_return ec0;
  auto [ec, n] = co_await drive([this](std::size_t&) { return SSL_do_handshake(ssl_.get()); }, Flush::all);
  if (ec) {
    const long verify = SSL_get_verify_result(ssl_.get());
    if (verify != X509_V_OK) {
      failure_label_ = classify_verify_failure(verify);
      failure_ = X509_verify_cert_error_string(verify);
    } else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
               ec.category() == boost::system::system_category()) {
      failure_label_ = "peer_closed";
      if (failure_.empty()) failure_ = ec.message();
    } else {
      const auto reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
      // Alerts from the peer are reported as SSL_AD_REASON_OFFSET + the alert number.
      const bool alert = reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256;
      // The peer's protocol_version alert is checked before alerts in general: the
      // refused side learns why as precisely as the refusing side.
      failure_label_ = reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ? "protocol_version"
                       : alert ? "rejected_by_peer"
                       : reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ? "no_peer_cert"
                       : reason == SSL_R_NO_SUITABLE_KEY_SHARE || reason == SSL_R_NO_SHARED_GROUPS ||
                               reason == SSL_R_NO_SHARED_CIPHER
                           ? "no_shared_group"
                       : reason == SSL_R_UNSUPPORTED_PROTOCOL ? "protocol_version"
                       : reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
                               reason == SSL_R_PACKET_LENGTH_TOO_LONG
                           ? "not_tls"
                           : "tls_error";
    }
  }
  co_return ec;
}

std::string TlsStream::failure_label() const { return failure_label_.empty() ? "tls_error" : failure_label_; }

asio::awaitable<std::pair<error_code, std::size_t>> TlsStream::read_ready(asio::mutable_buffer buf) {
  if (read_error_) co_return std::pair{std::exchange(read_error_, {}), std::size_t{0}};
  if (!socket_.is_open()) co_return std::pair{error_code{asio::error::bad_descriptor}, std::size_t{0}};
  auto* out = static_cast<unsigned char*>(buf.data());
  std::size_t got = 0;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_read_ex(ssl_.get(), out, buf.size(), &got);
  const int saved_errno = errno;
  if (r == 1) starved_ = false;
  if (r != 1) {
    const int err = SSL_get_error(ssl_.get(), r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      starved_ = err == SSL_ERROR_WANT_READ;
      // Reading a KeyUpdate queues the answer even when no data came with it.
      if (auto fec = co_await flush(Flush::if_idle)) co_return std::pair{fec, std::size_t{0}};
      co_return std::pair{error_code{asio::error::would_block}, std::size_t{0}};
    }
    const error_code ec = classify(r, saved_errno);
    if (!out_.empty()) co_await flush(Flush::if_idle);
    co_return std::pair{ec, std::size_t{0}};
  }
  // SSL_read returns one record (16 KiB) at a time, while read-ahead has usually pulled
  // several: hand them all over at once, so the node gets one large write, not four.
  while (got < buf.size() && SSL_has_pending(ssl_.get()) == 1) {
    std::size_t more = 0;
    ERR_clear_error();
    errno = 0;
    if (const int r2 = SSL_read_ex(ssl_.get(), out + got, buf.size() - got, &more); r2 != 1) {
      const int saved = errno;
      const int err = SSL_get_error(ssl_.get(), r2);
      // The end (an alert, close_notify) right behind the data: reported by the next
      // read, after this data, with its reason; OpenSSL would not say it twice.
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) read_error_ = classify(r2, saved);
      ERR_clear_error();
      break;
    }
    got += more;
  }
  if (auto fec = co_await flush(Flush::if_idle)) co_return std::pair{fec, got};
  co_return std::pair{error_code{}, got};
}

asio::awaitable<std::pair<error_code, std::size_t>> TlsStream::read_some(asio::mutable_buffer buf) {
  for (;;) {
    auto got = co_await read_ready(buf);
    if (got.first != asio::error::would_block) co_return got;
    if (auto ec = co_await wait_readable()) co_return std::pair{ec, std::size_t{0}};
  }
}

asio::awaitable<error_code> TlsStream::write_all(asio::const_buffer buf) {
  const std::size_t records = (buf.size() + kRecordData - 1) / kRecordData;
  out_.reserve(out_.size() + buf.size() + records * kRecordOverhead);
  while (buf.size() > 0) {
    auto write = [this, buf](std::size_t& w) { return SSL_write_ex(ssl_.get(), buf.data(), buf.size(), &w); };
    auto [ec, n] = co_await drive(write, Flush::all);
    if (ec) co_return ec;
    buf += n;
  }
  co_return error_code{};
}

asio::awaitable<error_code> TlsStream::shutdown_send() {
  // SSL_shutdown returns 0 once our close_notify is out and the peer's has not come yet;
  // that is all a half-close needs.
  auto [ec, n] = co_await drive(
      [this](std::size_t&) {
        const int r = SSL_shutdown(ssl_.get());
        return r >= 0 ? 1 : r;
      },
      Flush::all);
  if (!ec) socket_.shutdown(tcp::socket::shutdown_send, ec);
  co_return ec;
}

void TlsStream::close() {
  error_code ignored;
  socket_.close(ignored);
  sent_.cancel();
}

}  // namespace distls
