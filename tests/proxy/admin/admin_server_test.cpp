#include "distls/admin/admin_server.hpp"

#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace distls {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TEST(AdminServer, ConnectionsBeyondTheCapAreClosedAtOnce) {
  asio::io_context io;
  std::ostringstream out;
  Logger log(out, LogLevel::debug);
  Metrics metrics;
  Tasks tasks(io.get_executor(), log, metrics);
  Sessions sessions;
  AdminServer admin(io.get_executor(), log, tasks, sessions,
                    AdminHandlers{[](std::string&) { return true; }, [] { return std::string("m\n"); },
                                  [] { return std::string("{}"); }, [] { return std::string("{}"); }},
                    tcp::endpoint(asio::ip::address_v4::loopback(), 0),
                    AdminOptions{AdminExposure::probes, 2, std::chrono::seconds(30)});
  admin.start();
  std::vector<tcp::socket> held;
  for (int i = 0; i < 2; ++i) {
    held.emplace_back(io);
    held.back().connect(admin.local_endpoint());
  }
  for (int i = 0; i < 100 && admin.active() < 2; ++i) io.run_one_for(std::chrono::milliseconds(10));
  ASSERT_EQ(admin.active(), 2u);
  tcp::socket third(io);
  third.connect(admin.local_endpoint());
  char c;
  boost::system::error_code ec = asio::error::would_block;
  third.non_blocking(true);
  for (int i = 0; i < 500 && ec == asio::error::would_block; ++i) {
    io.run_one_for(std::chrono::milliseconds(10));
    third.read_some(asio::buffer(&c, 1), ec);
  }
  EXPECT_EQ(ec, asio::error::eof) << "the third connection was not closed: " << ec.message();
  EXPECT_NE(out.str().find("admin_connection_refused reason=max_connections"), std::string::npos);
  // The two it holds are served.
  asio::write(held[0], asio::buffer(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  std::string reply;
  for (int i = 0; i < 200 && reply.find("ok\n") == std::string::npos; ++i) {
    io.run_one_for(std::chrono::milliseconds(10));
    char buf[256];
    held[0].non_blocking(true);
    auto n = held[0].read_some(asio::buffer(buf), ec);
    if (!ec) reply.append(buf, n);
  }
  EXPECT_NE(reply.find("200 OK"), std::string::npos) << reply;
  // As a command shuts down: stop accepting, close the connections, let every coroutine
  // end before what they refer to is destroyed.
  admin.stop();
  sessions.close_all();
  for (int i = 0; i < 500 && tasks.running() > 0; ++i) io.run_one_for(std::chrono::milliseconds(10));
  EXPECT_EQ(tasks.running(), 0u);
}

TEST(AdminServer, ExposureNamesWhatAnswersBeyondLoopback) {
  EXPECT_EQ(parse_admin_exposure("probes"), AdminExposure::probes);
  EXPECT_EQ(parse_admin_exposure("metrics"), AdminExposure::metrics);
  EXPECT_EQ(parse_admin_exposure("all"), AdminExposure::all);
  EXPECT_FALSE(parse_admin_exposure("everything"));
}

}  // namespace
}  // namespace distls
