// The `local-ca` certificate source's signer: issues this node's leaf from a CA key file
// it can read, without the key ever leaving memory.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "distls/x509/cert_builder.hpp"
#include "distls/x509/ossl.hpp"

namespace distls::certs {

struct Leaf {
  ossl::PKey key;
  // The leaf first, then the intermediates: the CA file's certs that are not self-signed
  // (peers hold only roots, so intermediates must travel with the leaf).
  std::vector<ossl::X509Ptr> chain;
};

class LocalCa {
 public:
  struct Options {
    std::filesystem::path ca_cert;  // the signing CA first, then its intermediates/root
    std::filesystem::path ca_key;
    std::chrono::seconds ttl{3600};
    std::string common_name;
    Sans sans;  // at least one IP or DNS SAN: peers match node names against those
  };

  // Checks the options (paths given, positive TTL, CN and SANs valid), throwing
  // ossl::Error; the CA files are not read until issue().
  explicit LocalCa(Options o);

  // A fresh P-256 key generated in memory, a CSR for it (make_csr) signed with the CA as
  // the files hold it now: they are re-read on every call, so replacing them (a CA
  // rotation) takes effect at the next renewal. The CA key lives only for the call and is
  // never written anywhere. notAfter = now + ttl, capped at the CA's notAfter. Throws
  // ossl::Error naming the file for: unreadable or malformed files, a key that does not
  // match the CA cert, a CA cert without CA:TRUE or keyCertSign, a CA outside its validity.
  Leaf issue() const;

 private:
  Options o_;
};

}  // namespace distls::certs
