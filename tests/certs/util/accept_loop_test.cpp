#include "distls/util/accept_loop.hpp"

#include <sstream>

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

namespace distls {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Out of descriptors, accept(2) fails at once, every time it is called: the loop must back
// off (5 ms doubling), not spin, and recover when descriptors are free again. Each ctest
// test runs in a process of its own, so lowering RLIMIT_NOFILE here touches nothing else.
TEST(AcceptLoop, BacksOffOnEmfileAndRecovers) {
  asio::io_context io;
  std::ostringstream out;
  Logger log(out, LogLevel::debug);
  Metrics metrics;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  std::vector<tcp::socket> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back(io);
    clients.back().connect(acceptor.local_endpoint());
  }
  int served = 0;
  // Under UBSan the first virtual call through each (object, type) pair has its vptr
  // checked, and the check opens a pipe (sanitizer_common probes memory that way): with
  // every descriptor taken below it fails and reports a false "invalid vptr". Made here,
  // while descriptors remain, the checks are cached: a turn of the reactor, the
  // message of the error the loop will log, a log line.
  {
    asio::steady_timer turn(io, std::chrono::milliseconds(0));
    turn.async_wait([](boost::system::error_code) {});
    io.run_one();
    io.restart();
    const boost::system::error_code emfile(EMFILE, boost::system::system_category());
    EXPECT_FALSE(emfile.message().empty());
    EXPECT_FALSE(emfile.what().empty());
    log.info("test_start", {{"error", emfile}});
  }
  bool ended_by_exception = false;
  asio::co_spawn(io, accept_loop(acceptor, log, &metrics, "test", [&](tcp::socket) { ++served; }),
                 [&](std::exception_ptr e) { ended_by_exception = e != nullptr; });

  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  // A new descriptor takes the lowest free number, and the limit bounds numbers: with the
  // limit at the lowest free one, every accept fails with EMFILE.
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  for (int i = 0; i < 200 && metrics.value("distls_accept_errors_total", {{"listener", "test"}}) < 5; ++i)
    io.run_one_for(std::chrono::milliseconds(20));
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_GE(metrics.value("distls_accept_errors_total", {{"listener", "test"}}), 5u);
  EXPECT_EQ(served, 0);
  const auto text = out.str();
  for (const char* wait : {"retry_in_ms=5\n", "retry_in_ms=10\n", "retry_in_ms=20\n", "retry_in_ms=40\n"})
    EXPECT_NE(text.find(wait), std::string::npos) << wait << " missing in\n" << text;

  for (int i = 0; i < 200 && served < 2; ++i) io.run_one_for(std::chrono::milliseconds(20));
  EXPECT_EQ(served, 2) << "the loop did not recover";
  acceptor.close();
  io.poll();
  EXPECT_FALSE(ended_by_exception);
}

}  // namespace
}  // namespace distls
