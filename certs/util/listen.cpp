#include "distls/util/listen.hpp"

#include <stdexcept>
#include <string>

namespace distls {

std::string to_string(const boost::asio::ip::tcp::endpoint& ep) {
  const auto a = ep.address();
  // Appended in order: `"[" + str` makes GCC 12 at -O3 warn of an overlapping memcpy
  // (-Wrestrict, gcc.gnu.org/PR105329).
  std::string out;
  if (a.is_v6()) out += '[';
  out += a.to_string();
  if (a.is_v6()) out += ']';
  out += ':';
  out += std::to_string(ep.port());
  return out;
}

boost::asio::ip::tcp::acceptor make_listener(boost::asio::any_io_executor ex,
                                             const boost::asio::ip::tcp::endpoint& ep,
                                             std::string_view option) {
  boost::asio::ip::tcp::acceptor a(ex);
  boost::system::error_code ec;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (!ec) return a;
  throw std::runtime_error(std::string(option) + " " + to_string(ep) + ": " + ec.message());
}

}  // namespace distls
