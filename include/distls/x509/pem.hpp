// Keys and certificates in and out of PEM, and the file I/O around them.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "distls/x509/ossl.hpp"

namespace distls::pem {

// A fresh ECDSA P-256 key, generated in memory.
ossl::PKey generate_ec_p256();

std::string private_key_to_pem(EVP_PKEY* key);  // PKCS#8, unencrypted
std::string cert_to_pem(X509* cert);

// Throw ossl::Error naming `source` (a file name or "input") on anything malformed:
// no PEM block, trailing garbage inside a block, an encrypted key.
ossl::PKey read_private_key(std::string_view pem, std::string_view source = "input");
std::vector<ossl::X509Ptr> read_certs(std::string_view pem, std::string_view source = "input");

// File helpers; both throw ossl::Error with the path and errno text.
std::string read_file(const std::filesystem::path& path);
// Writes to a temporary file in the same directory, fsyncs and renames into place,
// so readers never see half a key. `mode` applies from creation (no window at 0644).
void write_file_atomic(const std::filesystem::path& path, std::string_view data, unsigned mode);

}  // namespace distls::pem
