// The rotation loop on a real io_context, with an issuer whose certs live for
// milliseconds: the loop's decisions are what is checked, never how long they took.
#include "distls/renewal/rotation.hpp"

#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace distls {
namespace {

using namespace std::chrono_literals;

TEST(Rotation, RenewsRepeatedlyAndBacksOffOnFailureWithoutGivingUp) {
  boost::asio::io_context io;
  std::ostringstream out;
  Logger log(out, LogLevel::debug);
  Metrics metrics;
  Tasks tasks(io.get_executor(), log, metrics);
  int calls = 0;
  Rotation rotation(
      tasks, log, metrics, "test",
      [&]() -> boost::asio::awaitable<std::variant<Rotation::time_point, std::string>> {
        ++calls;
        if (calls == 3 || calls == 4) co_return std::string("issuer unavailable");
        if (calls == 8) io.stop();
        co_return std::chrono::system_clock::now() + 20ms;
      },
      RenewalPolicy{0.7, 0.9, 1ms, 5ms});
  rotation.start(std::nullopt);  // no identity yet: the first attempt is immediate
  io.run_for(30s);               // a safety net only; the issuer stops the loop
  EXPECT_EQ(calls, 8);
  EXPECT_EQ(metrics.value("distls_renewals_total", {{"result", "ok"}}), 6u);
  EXPECT_EQ(metrics.value("distls_renewals_total", {{"result", "failed"}}), 2u);
  EXPECT_NE(out.str().find("renewal_failed source=test reason=\"issuer unavailable\" attempt=2"), std::string::npos)
      << out.str();
  EXPECT_EQ(rotation.schedule().failures(), 0u);
}

TEST(Rotation, ReportsExpiryOnceAndRecovery) {
  boost::asio::io_context io;
  std::ostringstream out;
  Logger log(out, LogLevel::debug);
  Metrics metrics;
  Tasks tasks(io.get_executor(), log, metrics);
  int calls = 0;
  Rotation rotation(
      tasks, log, metrics, "test",
      [&]() -> boost::asio::awaitable<std::variant<Rotation::time_point, std::string>> {
        ++calls;
        if (calls < 5) co_return std::string("denied");
        io.stop();
        co_return std::chrono::system_clock::now() + 1h;
      },
      RenewalPolicy{0.7, 0.9, 1ms, 2ms});
  rotation.start(std::chrono::system_clock::now() - 1s);  // installed, but already expired
  io.run_for(30s);
  EXPECT_EQ(calls, 5);
  const auto text = out.str();
  const auto first = text.find("identity_expired");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("identity_expired", first + 1), std::string::npos) << "logged more than once";
  EXPECT_NE(text.find("identity_restored"), std::string::npos);
}

TEST(Rotation, StopCancelsARenewalInFlight) {
  boost::asio::io_context io;
  std::ostringstream out;
  Logger log(out, LogLevel::debug);
  Metrics metrics;
  Tasks tasks(io.get_executor(), log, metrics);
  bool started = false, finished = false;
  Rotation rotation(
      tasks, log, metrics, "test",
      [&]() -> boost::asio::awaitable<std::variant<Rotation::time_point, std::string>> {
        started = true;
        // A signer that never answers: the CSR wait of a real source.
        boost::asio::steady_timer never(co_await boost::asio::this_coro::executor, 1h);
        co_await never.async_wait(boost::asio::use_awaitable);
        finished = true;
        co_return std::chrono::system_clock::now() + 1h;
      });
  rotation.start(std::nullopt);
  while (!started) io.run_one();
  tasks.stopping();  // as the command does at shutdown: essential tasks may end now
  rotation.stop();
  io.run_for(30s);  // returns at once when nothing is left; the renewal would hold it an hour
  EXPECT_EQ(tasks.running(), 0u) << "the renewal in flight outlived stop()";
  EXPECT_FALSE(finished);
  EXPECT_FALSE(tasks.failed()) << "a stop is not a failure";
}

}  // namespace
}  // namespace distls
