#include "distls/tunnel/tunnel.hpp"

namespace distls {

// The instantiations distls runs; tunnel.hpp declares them extern.
template asio::awaitable<TunnelResult> splice<tcp::socket, TlsStream>(tcp::socket&, TlsStream&, TunnelCounters,
                                                                      asio::const_buffer);
template asio::awaitable<TunnelResult> splice<asio::local::stream_protocol::socket, TlsStream>(
    asio::local::stream_protocol::socket&, TlsStream&, TunnelCounters, asio::const_buffer);

}  // namespace distls
