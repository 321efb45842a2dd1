// Small RAII owners for OpenSSL objects. Every OpenSSL pointer distls holds lives in
// one of these; nothing calls *_free by hand.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace distls::ossl {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept { Free(p); }
};

using PKey = std::unique_ptr<EVP_PKEY, Deleter<&EVP_PKEY_free>>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<&EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<&X509_free>>;
using X509Req = std::unique_ptr<X509_REQ, Deleter<&X509_REQ_free>>;
using X509Store = std::unique_ptr<X509_STORE, Deleter<&X509_STORE_free>>;
using X509StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<&X509_STORE_CTX_free>>;
using X509Ext = std::unique_ptr<X509_EXTENSION, Deleter<&X509_EXTENSION_free>>;
using GeneralNames = std::unique_ptr<GENERAL_NAMES, Deleter<&GENERAL_NAMES_free>>;
using Bio = std::unique_ptr<BIO, Deleter<&BIO_free_all>>;
using BigNum = std::unique_ptr<BIGNUM, Deleter<&BN_free>>;
using Asn1Integer = std::unique_ptr<ASN1_INTEGER, Deleter<&ASN1_INTEGER_free>>;
using Ssl = std::unique_ptr<SSL, Deleter<&SSL_free>>;
using SslCtx = std::unique_ptr<SSL_CTX, Deleter<&SSL_CTX_free>>;
inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509Stack = std::unique_ptr<STACK_OF(X509), Deleter<&free_x509_stack>>;

// Drains OpenSSL's thread-local error queue into one readable line ("" when empty).
std::string drain_errors();

// Thrown by the certificate helpers; the message names what failed and OpenSSL's reason.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws Error(what + ": " + drain_errors()).
[[noreturn]] void fail(const std::string& what);

// Takes an extra reference, for handing an object to a second owner.
inline X509Ptr share(X509* x) {
  X509_up_ref(x);
  return X509Ptr{x};
}
inline PKey share(EVP_PKEY* k) {
  EVP_PKEY_up_ref(k);
  return PKey{k};
}

}  // namespace distls::ossl
