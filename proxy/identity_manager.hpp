// Owns the identity in force: the leaf (key + chain) from the cert source and the trust
// bundle from its file. Any change to either builds a fresh TlsContext and publishes it;
// a change that does not validate is refused and the previous identity stays.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "distls/log.hpp"
#include "distls/metrics.hpp"
#include "distls/ossl.hpp"
#include "proxy/tls_context.hpp"
#include "proxy/tls_provider.hpp"

namespace distls {

class IdentityManager {
 public:
  IdentityManager(TlsProvider& provider, TlsOptions options, Logger& log, Metrics& metrics);

  // Installs a new leaf with the current trust bundle. Returns why not, on failure.
  std::optional<std::string> install_leaf(ossl::PKey key, std::vector<ossl::X509Ptr> chain,
                                          const std::string& origin);
  // Re-reads the trust bundle and reinstalls the current leaf with it.
  std::optional<std::string> load_trust(const std::filesystem::path& bundle);
  // The file source: cert, key and bundle together.
  std::optional<std::string> load_files(const std::filesystem::path& cert, const std::filesystem::path& key,
                                        const std::filesystem::path& bundle);

 private:
  std::optional<std::string> publish(ossl::PKey key, std::vector<ossl::X509Ptr> chain,
                                     std::vector<ossl::X509Ptr> trust, const std::string& origin);

  TlsProvider& provider_;
  TlsOptions options_;
  Logger& log_;
  Metrics& metrics_;
  ossl::PKey key_;
  std::vector<ossl::X509Ptr> chain_;
  std::vector<ossl::X509Ptr> trust_;
};

}  // namespace distls
