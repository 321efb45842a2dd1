#include "tests/k8s/encoding/go_time.hpp"

#include <gtest/gtest.h>

namespace distls::k8s_double {
namespace {

TEST(GoTime, Rfc3339AsMetav1Time) {
  for (const char* ok : {"2024-05-01T10:00:00Z", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00.123456789Z",
                         "2024-02-29T23:59:59Z", "2024-05-01T9:00:00Z"})
    EXPECT_EQ(go_time_parse_error(kRfc3339, ok), std::nullopt) << ok;
  EXPECT_EQ(go_time_parse_error(kRfc3339, "yesterday"),
            "parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as \"2006\"");
  EXPECT_EQ(go_time_parse_error(kRfc3339, ""),
            "parsing time \"\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"2006\"");
  EXPECT_EQ(go_time_parse_error(kRfc3339, "2024-05-01 10:00:00Z"),
            "parsing time \"2024-05-01 10:00:00Z\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \" 10:00:00Z\" as "
            "\"T\"");
  EXPECT_EQ(go_time_parse_error(kRfc3339, "2024-05-01T10:00:00"),
            "parsing time \"2024-05-01T10:00:00\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"Z07:00\"");
  EXPECT_EQ(go_time_parse_error(kRfc3339, "2024-13-01T10:00:00Z"), "parsing time \"2024-13-01T10:00:00Z\": month out of range");
  EXPECT_EQ(go_time_parse_error(kRfc3339, "2023-02-29T10:00:00Z"), "parsing time \"2023-02-29T10:00:00Z\": day out of range");
  EXPECT_EQ(go_time_parse_error(kRfc3339, "2024-05-01T10:00:00Zjunk"),
            "parsing time \"2024-05-01T10:00:00Zjunk\": extra text: \"junk\"");
  EXPECT_EQ(go_time_parse_error(kRfc3339, "2024-5-01T10:00:00Z"),
            "parsing time \"2024-5-01T10:00:00Z\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"5-01T10:00:00Z\" as "
            "\"01\"");
}

TEST(GoTime, MicroTimeWantsExactlySixDigits) {
  EXPECT_EQ(go_time_parse_error(kRfc3339Micro, "2023-11-14T22:13:20.000000Z"), std::nullopt);
  EXPECT_EQ(go_time_parse_error(kRfc3339Micro, "2023-11-14T22:13:20.123456+01:00"), std::nullopt);
  EXPECT_EQ(go_time_parse_error(kRfc3339Micro, "2023-11-14T22:13:20Z"),
            "parsing time \"2023-11-14T22:13:20Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"Z\" as "
            "\".000000\"");
  EXPECT_EQ(go_time_parse_error(kRfc3339Micro, "2023-11-14T22:13:20.123Z"),
            "parsing time \"2023-11-14T22:13:20.123Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse "
            "\".123Z\" as \".000000\"");
  EXPECT_EQ(go_time_parse_error(kRfc3339Micro, "2023-11-14T22:13:20.123456789Z"),
            "parsing time \"2023-11-14T22:13:20.123456789Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse "
            "\"789Z\" as \"Z07:00\"");
}

}  // namespace
}  // namespace distls::k8s_double
