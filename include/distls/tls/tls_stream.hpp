// TLS over a connected TCP socket, driven by coroutines. OpenSSL reads and writes the
// socket itself (SSL_set_fd) and Asio only waits for readiness: no BIO pair, so no copy
// of every byte through an intermediate buffer, and read-ahead pulls several records per
// recv(). One reader and one writer may be active at once (the two pumps of a tunnel);
// the io_context is single-threaded, so OpenSSL is never entered concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

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

  SSL* ssl() const { return ssl_.get(); }
  tcp::socket& socket() { return socket_; }

  asio::awaitable<error_code> handshake();
  // Returns eof once the peer's close_notify arrived.
  asio::awaitable<std::pair<error_code, std::size_t>> read_some(asio::mutable_buffer buf);
  asio::awaitable<error_code> write_all(asio::const_buffer buf);
  // Sends close_notify and shuts down the sending half; reading may continue (TLS 1.3).
  asio::awaitable<error_code> shutdown_send();
  void close();

  // Why the last operation failed, for logs: OpenSSL's reason or the verify error.
  const std::string& failure() const { return failure_; }
  // Stable label for metrics after a failed handshake.
  std::string failure_label() const;

 private:
  template <class Op>
  asio::awaitable<std::pair<error_code, std::size_t>> drive(Op op);

  tcp::socket socket_;
  std::shared_ptr<const TlsContext> ctx_;  // keeps the SSL_CTX alive as long as we are
  ossl::Ssl ssl_;
  std::string failure_;
  std::string failure_label_;
};

}  // namespace distls
