#include "distls/x509/identity.hpp"

#include <ctime>
#include <memory>

#include <openssl/err.h>

#include "distls/x509/pem.hpp"

namespace distls {
namespace {

// The untrusted stack borrows the chain's certs; sk_X509_free drops only the stack.
struct StackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_free(s); }
};
using BorrowedStack = std::unique_ptr<STACK_OF(X509), StackDeleter>;

X509* leaf_or_throw(const Identity& id) {
  if (id.chain.empty() || !id.chain.front()) throw ossl::Error("identity: empty certificate chain");
  return id.chain.front().get();
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t, const char* what) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) ossl::fail(std::string("identity: reading ") + what);
  // system_clock counts nanoseconds in 64 bits, which ends in 2262, while RFC 5280 gives
  // 99991231235959Z to a certificate that does not expire: clamp instead of overflowing.
  using tp = std::chrono::system_clock::time_point;
  const auto secs = static_cast<long long>(timegm(&tm));
  constexpr auto max_s = std::chrono::duration_cast<std::chrono::seconds>(tp::max().time_since_epoch()).count();
  constexpr auto min_s = std::chrono::duration_cast<std::chrono::seconds>(tp::min().time_since_epoch()).count();
  if (secs >= max_s) return tp::max();
  if (secs <= min_s) return tp::min();
  return tp(std::chrono::seconds(secs));
}

}  // namespace

std::chrono::system_clock::time_point Identity::not_before() const {
  return to_time_point(X509_get0_notBefore(leaf_or_throw(*this)), "notBefore");
}

std::chrono::system_clock::time_point Identity::not_after() const { return distls::not_after(leaf_or_throw(*this)); }

std::chrono::system_clock::time_point not_after(X509* cert) {
  if (cert == nullptr) throw ossl::Error("identity: no certificate");
  return to_time_point(X509_get0_notAfter(cert), "notAfter");
}

std::string Identity::serial_hex() const { return distls::serial_hex(leaf_or_throw(*this)); }

std::string serial_hex(X509* cert) {
  if (cert == nullptr) return "";
  ossl::BigNum bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)};
  if (!bn) ossl::fail("identity: reading the serial number");
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) ossl::fail("identity: formatting the serial number");
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

std::string Identity::subject() const { return name_text(X509_get_subject_name(leaf_or_throw(*this))); }

std::string name_text(const X509_NAME* name) {
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

void Identity::validate() const {
  X509* leaf = leaf_or_throw(*this);
  if (trust.empty()) throw ossl::Error("identity: empty trust bundle");
  if (!key) throw ossl::Error("identity: no private key");
  if (X509_check_private_key(leaf, key.get()) != 1)
    ossl::fail("identity: private key does not match certificate " + subject());

  ossl::X509Store store{X509_STORE_new()};
  if (!store) ossl::fail("identity: allocating a certificate store");
  for (const ossl::X509Ptr& ca : trust) {
    if (!ca) throw ossl::Error("identity: null certificate in trust bundle");
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      // The same CA listed twice in a bundle is harmless.
      const unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) != ERR_LIB_X509 || ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE)
        ossl::fail("identity: adding a trust bundle certificate");
      ERR_clear_error();
    }
  }
  BorrowedStack untrusted{sk_X509_new_null()};
  if (!untrusted) ossl::fail("identity: allocating the intermediate stack");
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (!chain[i]) throw ossl::Error("identity: null certificate in chain");
    if (sk_X509_push(untrusted.get(), chain[i].get()) == 0)
      ossl::fail("identity: collecting intermediates");
  }

  ossl::X509StoreCtx ctx{X509_STORE_CTX_new()};
  if (!ctx) ossl::fail("identity: allocating a verification context");
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1)
    ossl::fail("identity: initialising verification");
  const int ok = X509_verify_cert(ctx.get());
  if (ok < 0) ossl::fail("identity: verifying certificate " + subject());
  if (ok == 0) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ERR_clear_error();
    throw ossl::Error("identity: certificate " + subject() +
                      " does not verify against the trust bundle: " +
                      X509_verify_cert_error_string(err) + " (depth " + std::to_string(depth) +
                      ")");
  }
}

Identity Identity::load_files(const std::filesystem::path& cert, const std::filesystem::path& key,
                              const std::filesystem::path& trust_bundle) {
  Identity id;
  id.chain = pem::read_certs(pem::read_file(cert), cert.string());
  id.key = pem::read_private_key(pem::read_file(key), key.string());
  id.trust = pem::read_certs(pem::read_file(trust_bundle), trust_bundle.string());
  try {
    id.validate();
  } catch (const ossl::Error& e) {
    // Say which files the mismatch came from; validate() only knows the objects.
    throw ossl::Error(cert.string() + " + " + key.string() + " (trust " + trust_bundle.string() +
                      "): " + e.what());
  }
  return id;
}

}  // namespace distls
