#include "distls/log.hpp"

#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace distls {
namespace {

TEST(Logger, TextLinesStayParseable) {
  std::ostringstream out;
  Logger log(out, LogLevel::info);
  log.debug("hidden");
  log.warn("tunnel_refused", {{"reason", "bad"}, {"detail", "a \"quoted\" = thing\n"}, {"n", 3}});
  const auto line = out.str();
  EXPECT_EQ(line.find("hidden"), std::string::npos);
  EXPECT_NE(line.find(" warn tunnel_refused reason=bad detail=\"a \\\"quoted\\\" = thing\\x0a\" n=3\n"), std::string::npos) << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST(Logger, JsonLinesAreJson) {
  std::ostringstream out;
  Logger log(out, LogLevel::debug, Logger::Format::json);
  log.info("tunnel_open", {{"peer", "app@10.0.0.6"}, {"detail", "tab\there \"q\""}});
  const auto v = boost::json::parse(out.str());
  EXPECT_EQ(v.at("event").as_string(), "tunnel_open");
  EXPECT_EQ(v.at("level").as_string(), "info");
  EXPECT_EQ(v.at("peer").as_string(), "app@10.0.0.6");
  EXPECT_EQ(v.at("detail").as_string(), "tab\there \"q\"");
}

}  // namespace
}  // namespace distls
