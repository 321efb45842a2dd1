#include "distls/epmd/listen_check.hpp"

#include <fstream>
#include <sstream>

#include <boost/asio/ip/address.hpp>

namespace distls {

namespace {

// /proc/net/tcp prints addresses as the kernel holds them: 32-bit words in host order.
std::optional<boost::asio::ip::address> parse_proc_address(const std::string& hex, bool v6) {
  if (hex.size() != (v6 ? 32u : 8u)) return std::nullopt;
  std::array<unsigned char, 16> bytes{};
  for (std::size_t word = 0; word < hex.size() / 8; ++word) {
    std::uint32_t w = 0;
    try {
      w = static_cast<std::uint32_t>(std::stoul(hex.substr(word * 8, 8), nullptr, 16));
    } catch (...) {
      return std::nullopt;
    }
    for (int b = 0; b < 4; ++b) bytes[word * 4 + static_cast<std::size_t>(b)] = static_cast<unsigned char>(w >> (8 * b));
  }
  if (!v6) return boost::asio::ip::address_v4({bytes[0], bytes[1], bytes[2], bytes[3]});
  return boost::asio::ip::address_v6(bytes);
}

bool loopback(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

}  // namespace

std::optional<std::string> exposed_listener_in(const std::string& table, std::uint16_t port, bool v6) {
  std::istringstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    if (!(fields >> slot >> local >> remote >> state)) continue;
    if (state != "0A") continue;  // TCP_LISTEN
    const auto colon = local.find(':');
    if (colon == std::string::npos) continue;
    unsigned long p = 0;
    try {
      p = std::stoul(local.substr(colon + 1), nullptr, 16);
    } catch (...) {
      continue;
    }
    if (p != port) continue;
    const auto addr = parse_proc_address(local.substr(0, colon), v6);
    if (addr && !loopback(*addr)) return addr->to_string();
  }
  return std::nullopt;
}

std::optional<std::string> exposed_listener(std::uint16_t port, const std::string& proc_net) {
  for (const bool v6 : {false, true}) {
    std::ifstream f(proc_net + (v6 ? "/tcp6" : "/tcp"));
    if (!f) continue;
    std::stringstream ss;
    ss << f.rdbuf();
    if (auto a = exposed_listener_in(ss.str(), port, v6)) return a;
  }
  return std::nullopt;
}

}  // namespace distls
