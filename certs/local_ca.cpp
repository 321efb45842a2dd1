#include "distls/local_ca.hpp"

#include <string>
#include <utility>

#include <openssl/crypto.h>

#include "certs/cert_fields.hpp"
#include "distls/csr.hpp"
#include "distls/pem.hpp"

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

LocalCa::LocalCa(Options o) : o_(std::move(o)) {
  if (o_.ca_cert.empty()) throw ossl::Error("local CA: no CA certificate file given");
  if (o_.ca_key.empty()) throw ossl::Error("local CA: no CA key file given");
  if (o_.ttl.count() <= 0) throw ossl::Error("local CA: certificate lifetime must be positive");
  if (o_.common_name.empty()) throw ossl::Error("local CA: common name is empty");
  if (o_.sans.ips.empty() && o_.sans.dns.empty())
    throw ossl::Error("local CA: no IP or DNS SAN to request (peers match node names on them)");
  // A bad SAN is a configuration error: report it at startup, not at the first renewal.
  detail::san_extension(o_.sans);
}

Leaf LocalCa::issue() const {
  const std::string cert_path = o_.ca_cert.string();
  std::vector<ossl::X509Ptr> ca_certs = pem::read_certs(pem::read_file(o_.ca_cert), cert_path);
  X509* ca = ca_certs.front().get();
  check_can_issue(ca, cert_path);
  // Both files are read per call; mid-rotation one may be new and the other old, which
  // lands here and is retried by the caller's backoff.
  const ossl::PKey ca_key = read_ca_key(o_.ca_key);
  if (X509_check_private_key(ca, ca_key.get()) != 1)
    ossl::fail(o_.ca_key.string() + ": does not match the CA certificate in " + cert_path);

  Leaf leaf;
  leaf.key = pem::generate_ec_p256();
  const ossl::X509Req csr = make_csr(leaf.key.get(), o_.common_name, o_.sans);
  LeafSpec spec;
  spec.common_name = o_.common_name;
  spec.sans = o_.sans;
  spec.ttl = o_.ttl;
  try {
    leaf.chain.push_back(sign_csr(csr.get(), spec, ca, ca_key.get()));
  } catch (const ossl::Error& e) {
    throw ossl::Error("local CA " + cert_path + ": " + e.what());
  }
  for (const ossl::X509Ptr& c : ca_certs) {
    const int self_signed = X509_self_signed(c.get(), 0);
    if (self_signed < 0)
      ossl::fail(cert_path + ": checking whether a CA certificate is self-signed");
    if (self_signed == 0) leaf.chain.push_back(ossl::share(c.get()));
  }
  return leaf;
}

}  // namespace distls::certs
