#include "distls/x509/signing_ca.hpp"

#include <string>

#include <openssl/crypto.h>

#include "distls/x509/csr.hpp"
#include "distls/x509/pem.hpp"

namespace distls::certs {

namespace {

namespace fs = std::filesystem;

// The PEM text of the CA key is wiped once parsed. Best effort: read_file's buffer growth
// may have left earlier copies on the heap, but none outlives this call in a live string.
ossl::PKey read_ca_key(const fs::path& path) {
  std::string text = pem::read_file(path);
  struct Wipe {
    std::string& s;
    ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
  } wipe{text};
  return pem::read_private_key(text, path.string());
}

// sign_leaf would sign with anything; a leaf from a cert that cannot issue would only
// fail later, at every peer's handshake, so refuse here naming the file.
void check_can_issue(X509* ca, const std::string& where) {
  const uint32_t flags = X509_get_extension_flags(ca);
  if ((flags & EXFLAG_INVALID) != 0)
    throw ossl::Error(where + ": the CA certificate has malformed extensions");
  if ((flags & EXFLAG_CA) == 0)
    throw ossl::Error(where + ": not a CA certificate (no basicConstraints CA:TRUE)");
  // X509_get_key_usage is all ones when keyUsage is absent, as RFC 5280 reads it.
  if ((X509_get_key_usage(ca) & KU_KEY_CERT_SIGN) == 0)
    throw ossl::Error(where + ": the CA certificate's keyUsage lacks keyCertSign");
  const int born = X509_cmp_time(X509_get0_notBefore(ca), nullptr);
  const int alive = X509_cmp_time(X509_get0_notAfter(ca), nullptr);
  if (born == 0 || alive == 0) ossl::fail(where + ": reading the CA certificate's validity");
  if (born > 0) throw ossl::Error(where + ": the CA certificate is not valid yet");
  if (alive < 0) throw ossl::Error(where + ": the CA certificate has expired");
}

}  // namespace

SigningCa SigningCa::load(const std::filesystem::path& cert, const std::filesystem::path& key) {
  SigningCa ca;
  ca.cert_path_ = cert;
  const std::string cert_path = cert.string();
  ca.certs_ = pem::read_certs(pem::read_file(cert), cert_path);
  check_can_issue(ca.cert(), cert_path);
  // Both files are read per call; mid-rotation one may be new and the other old, which
  // lands here and is retried by the caller's backoff.
  ca.key_ = read_ca_key(key);
  if (X509_check_private_key(ca.cert(), ca.key_.get()) != 1)
    ossl::fail(key.string() + ": does not match the CA certificate in " + cert_path);
  return ca;
}

std::vector<ossl::X509Ptr> SigningCa::intermediates() const {
  std::vector<ossl::X509Ptr> out;
  for (const ossl::X509Ptr& c : certs_) {
    const int self_signed = X509_self_signed(c.get(), 0);
    if (self_signed < 0) ossl::fail(cert_path_.string() + ": checking whether a CA certificate is self-signed");
    if (self_signed == 0) out.push_back(ossl::share(c.get()));
  }
  return out;
}

ossl::X509Ptr SigningCa::sign(X509_REQ* csr, const LeafSpec& spec) const {
  return sign_csr(csr, spec, cert(), key_.get());
}

}  // namespace distls::certs
