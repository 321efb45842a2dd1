#include "distls/tls/tls_stream.hpp"

#include <cerrno>

#include <openssl/err.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/tls/peer_verifier.hpp"

namespace distls {

TlsStream::TlsStream(tcp::socket socket, std::shared_ptr<const TlsContext> ctx, Role role)
    : socket_(std::move(socket)), ctx_(std::move(ctx)) {
  ssl_.reset(SSL_new(role == Role::server ? ctx_->server() : ctx_->client()));
  if (!ssl_) ossl::fail("SSL_new");
  if (role == Role::server)
    SSL_set_accept_state(ssl_.get());
  else
    SSL_set_connect_state(ssl_.get());
}

template <class Op>
asio::awaitable<std::pair<error_code, std::size_t>> TlsStream::drive(Op op) {
  using asio::as_tuple;
  using asio::use_awaitable;
  for (;;) {
    // After close() the descriptor number may already belong to another socket:
    // OpenSSL must never touch it again.
    if (!socket_.is_open()) co_return std::pair{error_code{asio::error::bad_descriptor}, std::size_t{0}};
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int r = op(n);
    if (r == 1) co_return std::pair{error_code{}, n};
    const int err = SSL_get_error(ssl_.get(), r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const auto wait = err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
      auto [ec] = co_await socket_.async_wait(wait, as_tuple(use_awaitable));
      if (ec) co_return std::pair{ec, std::size_t{0}};
      continue;
    }
    if (err == SSL_ERROR_ZERO_RETURN) co_return std::pair{error_code{asio::error::eof}, std::size_t{0}};
    if (err == SSL_ERROR_SYSCALL && errno != 0) {
      error_code ec(errno, boost::system::system_category());
      failure_ = ec.message();
      co_return std::pair{ec, std::size_t{0}};
    }
    const unsigned long e = ERR_peek_last_error();
    // OpenSSL 3 reports a peer that closed without close_notify as an error of its own
    // (1.1 queued none): the same truncation either way, as Asio's engine treats it.
    if (e == 0 || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ERR_clear_error();
      failure_ = "connection closed without close_notify";
      co_return std::pair{error_code{asio::ssl::error::stream_truncated}, std::size_t{0}};
    }
    failure_ = ossl::drain_errors();
    co_return std::pair{error_code(static_cast<int>(e), asio::error::get_ssl_category()), std::size_t{0}};
  }
}

asio::awaitable<error_code> TlsStream::handshake() {
  // A dialling stream gets its descriptor only once connected.
  error_code ec0;
  socket_.non_blocking(true, ec0);
  if (!ec0) socket_.set_option(tcp::no_delay(true), ec0);
  if (ec0) co_return ec0;
  if (SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle())) != 1) {
    failure_ = ossl::drain_errors();
    co_return error_code{asio::error::bad_descriptor};
  }
  auto [ec, n] = co_await drive([this](std::size_t&) { return SSL_do_handshake(ssl_.get()); });
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

asio::awaitable<std::pair<error_code, std::size_t>> TlsStream::read_some(asio::mutable_buffer buf) {
  auto got = co_await drive([this, buf](std::size_t& n) { return SSL_read_ex(ssl_.get(), buf.data(), buf.size(), &n); });
  // SSL_read returns one record (16 KiB) at a time, while read-ahead has usually pulled
  // several: hand them all over at once, so the node gets one large write, not four.
  auto* out = static_cast<unsigned char*>(buf.data());
  while (!got.first && got.second < buf.size() && SSL_has_pending(ssl_.get()) == 1) {
    std::size_t more = 0;
    ERR_clear_error();
    if (SSL_read_ex(ssl_.get(), out + got.second, buf.size() - got.second, &more) != 1) {
      ERR_clear_error();  // whatever it was, the next read reports it
      break;
    }
    got.second += more;
  }
  co_return got;
}

asio::awaitable<error_code> TlsStream::write_all(asio::const_buffer buf) {
  while (buf.size() > 0) {
    auto [ec, n] = co_await drive(
        [this, buf](std::size_t& w) { return SSL_write_ex(ssl_.get(), buf.data(), buf.size(), &w); });
    if (ec) co_return ec;
    buf += n;
  }
  co_return error_code{};
}

asio::awaitable<error_code> TlsStream::shutdown_send() {
  // SSL_shutdown returns 0 once our close_notify is out and the peer's has not come yet;
  // that is all a half-close needs.
  auto [ec, n] = co_await drive([this](std::size_t&) {
    const int r = SSL_shutdown(ssl_.get());
    return r >= 0 ? 1 : r;
  });
  if (!ec) socket_.shutdown(tcp::socket::shutdown_send, ec);
  co_return ec;
}

void TlsStream::close() {
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace distls
