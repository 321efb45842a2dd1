// What a node presents and trusts: its key, its cert chain and the trust bundle.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "distls/x509/ossl.hpp"

namespace distls {

// A certificate's serial as upper-case hex without separators ("" for nullptr).
std::string serial_hex(X509* cert);
// A distinguished name on one line (RFC 2253), "?" when it cannot be printed.
std::string name_text(const X509_NAME* name);
// A certificate's notAfter; throws ossl::Error when it cannot be read.
std::chrono::system_clock::time_point not_after(X509* cert);

struct Identity {
  ossl::PKey key;
  std::vector<ossl::X509Ptr> chain;  // leaf first, then intermediates
  std::vector<ossl::X509Ptr> trust;  // CA certificates peers must chain to

  X509* leaf() const { return chain.front().get(); }
  std::chrono::system_clock::time_point not_before() const;
  std::chrono::system_clock::time_point not_after() const;
  std::string serial_hex() const;  // of the leaf, upper-case hex, no separators
  std::string subject() const;     // of the leaf, one line (RFC 2253)

  // Checks the identity is usable, throwing ossl::Error with the reason: non-empty
  // chain and trust, the key matches the leaf, the leaf chains to the trust bundle.
  void validate() const;

  // Reads and validates cert (leaf+chain PEM), key and trust bundle files.
  static Identity load_files(const std::filesystem::path& cert, const std::filesystem::path& key,
                             const std::filesystem::path& trust_bundle);
};

}  // namespace distls
