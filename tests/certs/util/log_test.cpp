#include "distls/util/log.hpp"

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

namespace distls {
namespace {

// A peer's claimed node name or an API's message can hold any byte: in either format,
// every byte outside printable ASCII comes out escaped, so a log line is one line of
// ASCII and a JSON line stays valid JSON even when the bytes are not UTF-8.
TEST(Logger, PeerBytesAreEscapedInBothFormats) {
  const std::string hostile = "app@\xff\xfe\x1b[31mred\xc3\xa9\x7f\r\n";
  std::ostringstream text, json;
  Logger(text, LogLevel::info).warn("tunnel_refused", {{"node", hostile}});
  Logger(json, LogLevel::info, Logger::Format::json).warn("tunnel_refused", {{"node", hostile}});
  for (const auto* out : {&text, &json}) {
    const auto line = out->str();
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
    for (unsigned char c : line.substr(0, line.size() - 1)) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << line;
  }
  EXPECT_NE(text.str().find("node=\"app@\\xff\\xfe\\x1b[31mred\\xc3\\xa9\\x7f\\x0d\\x0a\""), std::string::npos) << text.str();
  const auto v = boost::json::parse(json.str());
  EXPECT_EQ(v.at("node").as_string(), "app@\u00ff\u00fe\u001b[31mred\u00c3\u00a9\u007f\r\n");
}

}  // namespace
}  // namespace distls
