#include "distls/epmd/listen_check.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

namespace distls {
namespace {

// Lines as the kernel writes them (trimmed): 127.0.0.1:4369 listening, 0.0.0.0:4370
// listening, 10.0.0.5:40000 established.
const std::string kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:1111 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"
    "   1: 00000000:1112 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n"
    "   2: 0500000A:9C40 0600000A:1112 01 00000000:00000000 00:00000000 00000000     0        0 3 1\n";
const std::string kTcp6 =
    "  sl  local_address                         remote_address                        st\n"
    "   0: 00000000000000000000000001000000:1113 00000000000000000000000000000000:0000 0A 0 0 0\n"
    "   1: 00000000000000000000000000000000:1114 00000000000000000000000000000000:0000 0A 0 0 0\n"
    "   2: 0000000000000000FFFF00000100007F:1115 00000000000000000000000000000000:0000 0A 0 0 0\n";

TEST(ListenCheck, ParsesProcTables) {
  EXPECT_EQ(exposed_listener_in(kTcp, 0x1111, false), std::nullopt);      // 127.0.0.1
  EXPECT_EQ(exposed_listener_in(kTcp, 0x1112, false), "0.0.0.0");         // any
  EXPECT_EQ(exposed_listener_in(kTcp, 0x9C40, false), std::nullopt);      // not listening
  EXPECT_EQ(exposed_listener_in(kTcp6, 0x1113, true), std::nullopt);      // ::1
  EXPECT_EQ(exposed_listener_in(kTcp6, 0x1114, true), "::");              // any
  EXPECT_EQ(exposed_listener_in(kTcp6, 0x1115, true), std::nullopt);      // ::ffff:127.0.0.1
  EXPECT_EQ(exposed_listener_in("garbage\nmore garbage 1 2 3\n", 1, false), std::nullopt);
}

TEST(ListenCheck, SeesRealListeners) {
  boost::asio::io_context io;
  using tcp = boost::asio::ip::tcp;
  tcp::acceptor local(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  tcp::acceptor any(io, tcp::endpoint(tcp::v4(), 0));
  EXPECT_EQ(exposed_listener(local.local_endpoint().port()), std::nullopt);
  EXPECT_EQ(exposed_listener(any.local_endpoint().port()), "0.0.0.0");
}

}  // namespace
}  // namespace distls
