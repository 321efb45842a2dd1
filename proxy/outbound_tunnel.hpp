// The dialling half: a local node connected to a per-peer loopback port; distls dials the
// peer's distls over TLS, checks that the certificate is the dialled host's, and splices.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "proxy/proxy_context.hpp"

namespace distls {

boost::asio::awaitable<void> run_outbound_tunnel(ProxyContext& ctx, boost::asio::ip::tcp::socket node,
                                                 NodeName peer);

}  // namespace distls
