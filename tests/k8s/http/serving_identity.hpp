// The double's own TLS identity: a throwaway CA and a serving cert for 127.0.0.1, ::1 and
// localhost made at startup, or cert/key/CA files given on the command line.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "distls/x509/ossl.hpp"

namespace distls::k8s_double {

struct ServingIdentity {
  std::string ca_pem;     // what clients trust: DIR/ca.crt and certificate-authority-data
  std::string chain_pem;  // leaf first
  std::string key_pem;

  // extra_sans: more IPs or DNS names for the serving cert (the listen address is added).
  static ServingIdentity generate(const std::vector<std::string>& extra_sans);
  // Throws ossl::Error naming the file on anything unreadable or malformed.
  static ServingIdentity load(const std::filesystem::path& cert, const std::filesystem::path& key,
                              const std::filesystem::path& ca);

  // TLS 1.2 and 1.3 only, no session resumption (nothing here needs it).
  boost::asio::ssl::context server_context() const;
};

}  // namespace distls::k8s_double
