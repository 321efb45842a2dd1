// Internal to certs/: reading PEM block by block, for the typed readers in pem.cpp and
// csr.cpp, so that every reader refuses the same malformed input the same way.
#pragma once

#include <string>
#include <string_view>

#include <openssl/crypto.h>

#include "distls/x509/ossl.hpp"

namespace distls::pem::detail {

// What PEM_read_bio hands out; all three are OPENSSL_malloc'ed.
struct PemBlock {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;

  PemBlock() = default;
  PemBlock(const PemBlock&) = delete;
  PemBlock& operator=(const PemBlock&) = delete;
  ~PemBlock() {
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
};

// A read-only BIO over `pem`, which must outlive it; `source` names the input in errors.
ossl::Bio memory_bio(std::string_view pem, std::string_view source);

// Reads the next block; false at a clean end of input. A truncated or corrupt block
// (bad base64, missing END line) throws rather than ending the loop quietly.
bool next_block(BIO* bio, PemBlock& block, std::string_view source);

// Throws unless the block is exactly one DER SEQUENCE with nothing after it.
void require_single_der(const PemBlock& block, std::string_view source);

// Everything written to a memory BIO.
std::string bio_contents(BIO* bio);

}  // namespace distls::pem::detail
