// Opening a listening socket at startup, with an error that names the option.
#pragma once

#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace distls {

// Throws std::runtime_error("<option> <address>: <reason>") when the address cannot be
// bound (in use, not local, no permission).
boost::asio::ip::tcp::acceptor make_listener(boost::asio::any_io_executor ex,
                                             const boost::asio::ip::tcp::endpoint& ep,
                                             std::string_view option);

std::string to_string(const boost::asio::ip::tcp::endpoint& ep);

}  // namespace distls
