#include "distls/x509/pem.hpp"

#include <fstream>

#include <openssl/pem.h>

#include <gtest/gtest.h>

#include "tests/certs/cert_test_support.hpp"

namespace distls::pem {
namespace {

using test::error_of;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Re-wraps DER as a PEM block with `name`, appending `extra` bytes inside the block.
std::string wrap(const char* name, std::vector<unsigned char> der, const std::string& extra) {
  der.insert(der.end(), extra.begin(), extra.end());
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  PEM_write_bio(bio.get(), name, "", der.data(), static_cast<long>(der.size()));
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

std::vector<unsigned char> key_der(EVP_PKEY* key) {
  unsigned char* buf = nullptr;
  const int n = i2d_PrivateKey(key, &buf);
  std::vector<unsigned char> out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

std::vector<unsigned char> cert_der(X509* cert) {
  unsigned char* buf = nullptr;
  const int n = i2d_X509(cert, &buf);
  std::vector<unsigned char> out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

std::string traditional_pem(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr) {
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  static char pass[] = "secret";
  auto* kstr = cipher != nullptr ? reinterpret_cast<unsigned char*>(pass) : nullptr;
  EXPECT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), key, cipher, kstr,
                                                 cipher != nullptr ? 6 : 0, nullptr, nullptr),
            1);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

TEST(Pem, GeneratesP256) {
  ossl::PKey key = generate_ec_p256();
  ASSERT_TRUE(key);
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");
  // Two calls, two keys.
  EXPECT_NE(EVP_PKEY_eq(key.get(), generate_ec_p256().get()), 1);
}

TEST(Pem, PrivateKeyRoundTripsAsPkcs8) {
  ossl::PKey key = generate_ec_p256();
  const std::string text = private_key_to_pem(key.get());
  EXPECT_TRUE(contains(text, "-----BEGIN PRIVATE KEY-----")) << text;
  ossl::PKey back = read_private_key(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(EVP_PKEY_eq(key.get(), back.get()), 1);
}

TEST(Pem, ReadsTraditionalEcKey) {
  ossl::PKey key = generate_ec_p256();
  const std::string text = traditional_pem(key.get());
  ASSERT_TRUE(contains(text, "BEGIN EC PRIVATE KEY")) << text;
  EXPECT_EQ(EVP_PKEY_eq(key.get(), read_private_key(text).get()), 1);
}

TEST(Pem, CertsRoundTripInOrder) {
  test::TestCa a = test::make_ca("A");
  test::TestCa b = test::make_ca("B");
  const std::string text = "some explanatory text\n" + cert_to_pem(a.cert.get()) +
                           cert_to_pem(b.cert.get());
  std::vector<ossl::X509Ptr> certs = read_certs(text);
  ASSERT_EQ(certs.size(), 2U);
  EXPECT_EQ(X509_cmp(certs[0].get(), a.cert.get()), 0);
  EXPECT_EQ(X509_cmp(certs[1].get(), b.cert.get()), 0);
}

TEST(Pem, CombinedFileYieldsBoth) {
  test::TestCa ca = test::make_ca();
  const std::string text = private_key_to_pem(ca.key.get()) + cert_to_pem(ca.cert.get());
  EXPECT_EQ(read_certs(text).size(), 1U);
  EXPECT_EQ(EVP_PKEY_eq(read_private_key(text).get(), ca.key.get()), 1);
}

TEST(Pem, GarbageIsRejectedNamingTheSource) {
  const std::string m1 = error_of([] { read_private_key("hello world\n", "/etc/key.pem"); });
  EXPECT_TRUE(contains(m1, "/etc/key.pem")) << m1;
  const std::string m2 = error_of([] { read_certs("hello world\n", "bundle.pem"); });
  EXPECT_TRUE(contains(m2, "bundle.pem")) << m2;
  EXPECT_TRUE(contains(error_of([] { read_certs(""); }), "input"));
}

TEST(Pem, TruncatedBlockIsRejected) {
  test::TestCa ca = test::make_ca();
  const std::string cert = cert_to_pem(ca.cert.get());
  const std::string key = private_key_to_pem(ca.key.get());
  const std::string m1 = error_of([&] { read_certs(cert.substr(0, cert.size() / 2), "c"); });
  EXPECT_TRUE(contains(m1, "c: ")) << m1;
  // Without its END line, even with the whole body present.
  const std::string no_end = cert.substr(0, cert.find("-----END"));
  EXPECT_FALSE(error_of([&] { read_certs(no_end); }).empty());
  EXPECT_FALSE(error_of([&] { read_private_key(key.substr(0, key.size() - 30)); }).empty());
}

TEST(Pem, TruncatedSecondCertIsNotSilentlyDropped) {
  test::TestCa a = test::make_ca("A");
  const std::string one = cert_to_pem(a.cert.get());
  const std::string text = one + one.substr(0, one.size() / 2);
  EXPECT_FALSE(error_of([&] { read_certs(text); }).empty());
}

TEST(Pem, CorruptBase64IsRejected) {
  test::TestCa ca = test::make_ca();
  std::string cert = cert_to_pem(ca.cert.get());
  const auto body = cert.find('\n') + 10;
  cert[body] = '!';
  EXPECT_FALSE(error_of([&] { read_certs(cert); }).empty());
}

TEST(Pem, TrailingBytesInsideBlockAreRejected) {
  test::TestCa ca = test::make_ca();
  const std::string key_ok = wrap("PRIVATE KEY", key_der(ca.key.get()), "");
  ASSERT_EQ(EVP_PKEY_eq(read_private_key(key_ok).get(), ca.key.get()), 1);  // the control
  const std::string key_bad = wrap("PRIVATE KEY", key_der(ca.key.get()), "junk");
  EXPECT_TRUE(contains(error_of([&] { read_private_key(key_bad); }), "trailing"));

  const std::string cert_bad = wrap("CERTIFICATE", cert_der(ca.cert.get()), "junk");
  EXPECT_TRUE(contains(error_of([&] { read_certs(cert_bad); }), "trailing"));
}

TEST(Pem, CertWhereKeyExpectedAndKeyWhereCertExpected) {
  test::TestCa ca = test::make_ca();
  const std::string m1 = error_of([&] { read_private_key(cert_to_pem(ca.cert.get()), "k.pem"); });
  EXPECT_TRUE(contains(m1, "k.pem")) << m1;
  EXPECT_TRUE(contains(m1, "PRIVATE KEY")) << m1;
  const std::string m2 = error_of([&] { read_certs(private_key_to_pem(ca.key.get()), "c.pem"); });
  EXPECT_TRUE(contains(m2, "c.pem")) << m2;
  EXPECT_TRUE(contains(m2, "CERTIFICATE")) << m2;
}

TEST(Pem, EncryptedKeysAreRejected) {
  ossl::PKey key = generate_ec_p256();
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  static char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), pass, 6,
                                          nullptr, nullptr),
            1);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  const std::string pkcs8(p, static_cast<std::size_t>(n));
  EXPECT_TRUE(contains(error_of([&] { read_private_key(pkcs8); }), "encrypted"));

  const std::string trad = traditional_pem(key.get(), EVP_aes_256_cbc());
  ASSERT_TRUE(contains(trad, "Proc-Type: 4,ENCRYPTED")) << trad;
  EXPECT_TRUE(contains(error_of([&] { read_private_key(trad); }), "encrypted"));
}

TEST(PemFiles, WriteAtomicAppliesModeAndLeavesNoTemporaries) {
  test::TempDir dir;
  const auto key = dir / "tls.key";
  const auto crt = dir / "tls.crt";
  write_file_atomic(key, "secret", 0600);
  write_file_atomic(crt, "public", 0644);
  EXPECT_EQ(test::mode_of(key), 0600U);
  EXPECT_EQ(test::mode_of(crt), 0644U);
  EXPECT_EQ(read_file(key), "secret");
  EXPECT_EQ(read_file(crt), "public");

  write_file_atomic(key, "replaced", 0600);
  EXPECT_EQ(read_file(key), "replaced");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 2);
}

TEST(PemFiles, ModeIsExactRegardlessOfUmask) {
  test::TempDir dir;
  const mode_t old = ::umask(0077);
  write_file_atomic(dir / "ca.crt", "x", 0644);
  ::umask(old);
  EXPECT_EQ(test::mode_of(dir / "ca.crt"), 0644U);
}

TEST(PemFiles, ErrorsNameThePath) {
  test::TempDir dir;
  const auto missing = dir / "nope.pem";
  const std::string m1 = error_of([&] { read_file(missing); });
  EXPECT_TRUE(contains(m1, missing.string())) << m1;
  EXPECT_TRUE(contains(m1, "No such file")) << m1;
  const auto bad = dir / "no-such-dir" / "f";
  const std::string m2 = error_of([&] { write_file_atomic(bad, "x", 0600); });
  EXPECT_TRUE(contains(m2, bad.string())) << m2;
}

}  // namespace
}  // namespace distls::pem
