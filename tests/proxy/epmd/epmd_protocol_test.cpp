#include "distls/epmd/epmd_protocol.hpp"

#include <gtest/gtest.h>

namespace distls::epmd {
namespace {

std::vector<std::uint8_t> body_of(const std::vector<std::uint8_t>& framed) {
  EXPECT_GE(framed.size(), 2u);
  EXPECT_EQ(static_cast<std::size_t>(framed[0] << 8 | framed[1]), framed.size() - 2);
  return {framed.begin() + 2, framed.end()};
}

std::string error_of(const std::vector<std::uint8_t>& body) {
  auto r = parse_request(body);
  if (auto* e = std::get_if<ParseError>(&r)) return e->reason;
  return "parsed";
}

TEST(EpmdProtocol, Alive2RoundTrip) {
  Alive2Request a{4370, 77, 0, 6, 5, "app", "x"};
  auto r = parse_request(body_of(encode_alive2_req(a)));
  ASSERT_TRUE(std::holds_alternative<Request>(r));
  EXPECT_EQ(std::get<Alive2Request>(std::get<Request>(r)), a);
}

TEST(EpmdProtocol, Alive2AsErlEpmdSendsIt) {
  // What erl_epmd:do_register_node/3 sends on OTP 25 for register_node("app", 43210).
  const std::vector<std::uint8_t> body{120, 0xa8, 0xca, 77, 0, 0, 6, 0, 5, 0, 3, 'a', 'p', 'p', 0, 0};
  auto r = parse_request(body);
  ASSERT_TRUE(std::holds_alternative<Request>(r));
  const auto& a = std::get<Alive2Request>(std::get<Request>(r));
  EXPECT_EQ(a.port, 43210);
  EXPECT_EQ(a.name, "app");
  EXPECT_EQ(a.highest_version, 6);
  EXPECT_EQ(a.lowest_version, 5);
}

TEST(EpmdProtocol, Alive2Malformed) {
  auto good = body_of(encode_alive2_req({4370, 77, 0, 6, 5, "app", ""}));
  for (std::size_t cut = 1; cut < good.size(); ++cut)
    EXPECT_EQ(error_of({good.begin(), good.begin() + static_cast<long>(cut)}), "alive2_truncated") << cut;
  auto trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(error_of(trailing), "alive2_trailing_bytes");
  // Port 0 is a node listening on a Unix socket: it parses, and the service decides.
  EXPECT_EQ(error_of(body_of(encode_alive2_req({0, 77, 0, 6, 5, "app", ""}))), "parsed");
  EXPECT_EQ(error_of(body_of(encode_alive2_req({1, 77, 0, 6, 5, "a@b", ""}))), "alive2_bad_name");
  EXPECT_EQ(error_of(body_of(encode_alive2_req({1, 77, 0, 6, 5, "", ""}))), "alive2_bad_name");
  EXPECT_EQ(error_of(body_of(encode_alive2_req({1, 77, 0, 5, 6, "app", ""}))), "alive2_bad_versions");
  // A name length pointing past the end must not read beyond the buffer.
  std::vector<std::uint8_t> lying{120, 0, 1, 77, 0, 0, 6, 0, 5, 0xff, 0xff, 'a'};
  EXPECT_EQ(error_of(lying), "alive2_truncated");
}

TEST(EpmdProtocol, PortPlease) {
  auto r = parse_request(body_of(encode_port_please2_req("app@10.0.0.6")));
  ASSERT_TRUE(std::holds_alternative<Request>(r));
  EXPECT_EQ(std::get<PortPlease2Request>(std::get<Request>(r)).name, "app@10.0.0.6");
  EXPECT_EQ(std::get<PortPlease2Request>(
                std::get<Request>(parse_request(body_of(encode_port_please2_req("app")))))
                .name,
            "app");
  EXPECT_EQ(error_of(body_of(encode_port_please2_req(""))), "port_please_bad_name");
  EXPECT_EQ(error_of(body_of(encode_port_please2_req("app@"))), "port_please_bad_name");
  EXPECT_EQ(error_of(body_of(encode_port_please2_req("app@bad host"))), "port_please_bad_name");
  EXPECT_EQ(error_of(body_of(encode_port_please2_req(std::string("ap\0p", 4)))), "port_please_bad_name");
}

TEST(EpmdProtocol, NamesAndRefused) {
  EXPECT_TRUE(std::holds_alternative<NamesRequest>(std::get<Request>(parse_request(std::vector<std::uint8_t>{110}))));
  EXPECT_EQ(error_of({110, 1}), "names_trailing_bytes");
  for (std::uint8_t code : {kDumpReq, kKillReq, kStopReq}) {
    auto r = parse_request(std::vector<std::uint8_t>{code});
    EXPECT_EQ(std::get<RefusedRequest>(std::get<Request>(r)).code, code);
  }
  EXPECT_EQ(error_of({}), "empty");
  EXPECT_EQ(error_of({1, 2, 3}), "unknown_request");
  EXPECT_EQ(error_of(std::vector<std::uint8_t>(kMaxRequestLength + 1, 122)), "oversized");
}

TEST(EpmdProtocol, Replies) {
  EXPECT_EQ(encode_alive2_resp(true, 0x01020304, true), (std::vector<std::uint8_t>{118, 0, 1, 2, 3, 4}));
  EXPECT_EQ(encode_alive2_resp(true, 0x0304, false), (std::vector<std::uint8_t>{121, 0, 3, 4}));
  EXPECT_EQ(encode_alive2_resp(false, 0, true)[1], 1);
  EXPECT_EQ(encode_port2_resp(std::nullopt), (std::vector<std::uint8_t>{119, 1}));
  EXPECT_EQ(encode_port2_resp(PortInfo{0x1112, 77, 0, 6, 5, "app", ""}),
            (std::vector<std::uint8_t>{119, 0, 0x11, 0x12, 77, 0, 0, 6, 0, 5, 0, 3, 'a', 'p', 'p', 0, 0}));
  const auto names = encode_names_resp(4369, {{"app", 4370}, {"x", 1}});
  EXPECT_EQ(std::vector<std::uint8_t>(names.begin(), names.begin() + 4), (std::vector<std::uint8_t>{0, 0, 0x11, 0x11}));
  EXPECT_EQ(std::string(names.begin() + 4, names.end()), "name app at port 4370\nname x at port 1\n");
}

}  // namespace
}  // namespace distls::epmd
