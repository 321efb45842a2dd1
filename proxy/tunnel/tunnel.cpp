#include "distls/tunnel/tunnel.hpp"

namespace distls {

// The one instantiation distls runs; tunnel.hpp declares it extern.
template asio::awaitable<TunnelResult> splice<tcp::socket, TlsStream>(tcp::socket&, TlsStream&, TunnelCounters,
                                                                      asio::const_buffer);

}  // namespace distls
