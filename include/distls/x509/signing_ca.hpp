// A CA read from its files, able to sign leaves: what the local-ca source and
// `distls signer` share. Loaded afresh for each signature, so that replacing the files
// (a CA rotation) takes effect at the next one, and the key lives only that long.
#pragma once

#include <filesystem>
#include <vector>

#include "distls/x509/cert_builder.hpp"
#include "distls/x509/ossl.hpp"

namespace distls::certs {

class SigningCa {
 public:
  // Reads both files and checks the CA can issue: CA:TRUE, keyCertSign, within its
  // validity, the key matching. Throws ossl::Error naming the file.
  static SigningCa load(const std::filesystem::path& cert, const std::filesystem::path& key);

  X509* cert() const { return certs_.front().get(); }
  // The certs of the CA file that are not self-signed: they travel with every leaf,
  // since peers hold only roots.
  std::vector<ossl::X509Ptr> intermediates() const;
  // A leaf for the CSR's key with exactly `spec`'s names and lifetime.
  ossl::X509Ptr sign(X509_REQ* csr, const LeafSpec& spec) const;

 private:
  SigningCa() = default;
  std::filesystem::path cert_path_;
  std::vector<ossl::X509Ptr> certs_;
  ossl::PKey key_;
};

}  // namespace distls::certs
