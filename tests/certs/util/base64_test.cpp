#include "distls/util/base64.hpp"

#include <gtest/gtest.h>

namespace distls {
namespace {

TEST(Base64, RoundTripsEveryLength) {
  std::string s;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s) << i;
    s += static_cast<char>(i * 37);
  }
  EXPECT_EQ(base64_encode("PEM"), "UEVN");
  EXPECT_EQ(base64_decode("UEU="), "PE");
}

TEST(Base64, RefusesWhatIsNotBase64) {
  for (const char* bad : {"U", "UEV", "UE=N", "UEVN=", "UE==N", "!!!!", "UEVN\n"}) EXPECT_FALSE(base64_decode(bad)) << bad;
}

}  // namespace
}  // namespace distls
