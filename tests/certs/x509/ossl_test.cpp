#include "distls/x509/ossl.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

namespace distls::ossl {
namespace {

// Provokes a real OpenSSL failure: PEM parsing of text without a PEM block.
void provoke_error() {
  static const char kText[] = "not pem";
  Bio bio{BIO_new_mem_buf(kText, -1)};
  X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  ASSERT_EQ(x, nullptr);
}

TEST(Ossl, DrainErrorsEmptyWhenQueueEmpty) {
  ERR_clear_error();
  EXPECT_EQ(drain_errors(), "");
}

TEST(Ossl, DrainErrorsReportsReasonAndEmptiesQueue) {
  ERR_clear_error();
  provoke_error();
  const std::string text = drain_errors();
  EXPECT_NE(text.find("no start line"), std::string::npos) << text;
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST(Ossl, FailThrowsWithWhatAndReason) {
  ERR_clear_error();
  provoke_error();
  try {
    fail("reading CA key");
    FAIL() << "fail() returned";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("reading CA key: ", 0), 0U) << msg;
    EXPECT_NE(msg.find("no start line"), std::string::npos) << msg;
  }
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST(Ossl, FailWithEmptyQueueStillSaysSomething) {
  ERR_clear_error();
  try {
    fail("thing");
  } catch (const Error& e) {
    EXPECT_GT(std::string(e.what()).size(), std::string("thing: ").size());
  }
}

TEST(Ossl, ShareTakesAReference) {
  PKey a{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  ASSERT_TRUE(a);
  PKey b = share(a.get());
  a.reset();
  // Still usable after the first owner let go.
  EXPECT_EQ(EVP_PKEY_get_base_id(b.get()), EVP_PKEY_EC);
}

}  // namespace
}  // namespace distls::ossl
