#include "tests/k8s/api/table_printer.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace distls::k8s_double {
namespace {

using std::chrono::seconds;

TEST(HumanDuration, MatchesApimachinery) {
  EXPECT_EQ(human_duration(seconds(-5)), "<invalid>");
  EXPECT_EQ(human_duration(seconds(-1)), "0s");
  EXPECT_EQ(human_duration(seconds(0)), "0s");
  EXPECT_EQ(human_duration(seconds(119)), "119s");
  EXPECT_EQ(human_duration(seconds(120)), "2m");
  EXPECT_EQ(human_duration(seconds(150)), "2m30s");
  EXPECT_EQ(human_duration(seconds(600)), "10m");
  EXPECT_EQ(human_duration(seconds(3600)), "60m");
  EXPECT_EQ(human_duration(seconds(3 * 3600)), "3h");
  EXPECT_EQ(human_duration(seconds(3 * 3600 + 600)), "3h10m");
  EXPECT_EQ(human_duration(seconds(24 * 3600)), "24h");
  EXPECT_EQ(human_duration(seconds(50 * 3600)), "2d2h");
  EXPECT_EQ(human_duration(seconds(30LL * 86400)), "30d");
  EXPECT_EQ(human_duration(seconds(800LL * 86400)), "2y70d");
  EXPECT_EQ(human_duration(seconds(3000LL * 86400)), "8y");
}

TEST(CsrConditionSummary, Precedence) {
  const auto csr = [](const char* json) { return boost::json::parse(json).as_object(); };
  EXPECT_EQ(csr_condition_summary(csr(R"({"status":{}})")), "Pending");
  EXPECT_EQ(
      csr_condition_summary(csr(R"({"status":{"conditions":[{"type":"Approved"}],"certificate":"eA=="}})")),
      "Approved,Issued");
  EXPECT_EQ(
      csr_condition_summary(csr(R"({"status":{"conditions":[{"type":"Approved"},{"type":"Failed"}]}})")),
      "Approved,Failed");
  EXPECT_EQ(csr_condition_summary(csr(R"({"status":{"conditions":[{"type":"Denied"}]}})")), "Denied");
}

}  // namespace
}  // namespace distls::k8s_double
