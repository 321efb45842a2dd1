#include "distls/tunnel/dist_handshake.hpp"

#include <gtest/gtest.h>

namespace distls::dist {
namespace {

std::vector<std::uint8_t> new_form(std::string_view name, std::uint64_t flags = 0x1234, std::uint32_t creation = 7) {
  std::vector<std::uint8_t> b{'N'};
  for (int s = 56; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(flags >> s));
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(creation >> s));
  b.push_back(static_cast<std::uint8_t>(name.size() >> 8));
  b.push_back(static_cast<std::uint8_t>(name.size()));
  b.insert(b.end(), name.begin(), name.end());
  return b;
}

std::string error_of(const std::vector<std::uint8_t>& body) {
  auto r = parse_send_name(body);
  if (auto* e = std::get_if<ParseError>(&r)) return e->reason;
  return "parsed:" + std::get<SendName>(r).name;
}

TEST(SendName, NewForm) {
  auto r = parse_send_name(new_form("app@10.0.0.5", 0xdeadbeefcafef00d, 0x01020304));
  ASSERT_TRUE(std::holds_alternative<SendName>(r));
  const auto& s = std::get<SendName>(r);
  EXPECT_EQ(s.tag, 'N');
  EXPECT_EQ(s.name, "app@10.0.0.5");
  EXPECT_EQ(s.flags, 0xdeadbeefcafef00dull);
  EXPECT_EQ(s.creation, 0x01020304u);
}

TEST(SendName, OldForm) {
  std::vector<std::uint8_t> b{'n', 0, 5, 0x00, 0x0d, 0xf7, 0xfd};
  const std::string name = "app@host.example";
  b.insert(b.end(), name.begin(), name.end());
  auto r = parse_send_name(b);
  ASSERT_TRUE(std::holds_alternative<SendName>(r));
  EXPECT_EQ(std::get<SendName>(r).version, 5);
  EXPECT_EQ(std::get<SendName>(r).flags, 0x000df7fdu);
  EXPECT_EQ(std::get<SendName>(r).name, name);
}

TEST(SendName, ResidueIsIgnoredAsDistUtilDoes) {
  auto b = new_form("app@h");
  b.push_back('x');
  EXPECT_EQ(error_of(b), "parsed:app@h");
}

TEST(SendName, Malformed) {
  EXPECT_EQ(error_of({}), "empty_frame");
  EXPECT_EQ(error_of({'s', 'o', 'k'}), "not_send_name");  // a send_status, not a name
  auto good = new_form("app@h");
  for (std::size_t cut = 1; cut < good.size(); ++cut)
    EXPECT_EQ(error_of({good.begin(), good.begin() + static_cast<long>(cut)}), "truncated_send_name") << cut;
  EXPECT_EQ(error_of(new_form("")), "truncated_send_name");
  EXPECT_EQ(error_of({'n', 0, 5, 0, 0, 0, 0}), "truncated_send_name");
  EXPECT_EQ(error_of(std::vector<std::uint8_t>(kMaxSendNameFrame + 1, 'N')), "oversized_frame");
}

}  // namespace
}  // namespace distls::dist
