// Owns the identity in force: the leaf (key + chain) from the cert source and the trust
// bundle from its file. Any change to either builds a fresh TlsContext and publishes it;
// a leaf that does not validate is refused and the previous identity stays.
//
// A trust bundle that does not cover this node's own leaf (an emergency CA swap: the
// bundle names only the new CA while the leaf is still from the old one) is not thrown
// away: it is kept pending, re-read, and applied together with the first leaf it
// covers. Dropping it would leave the removed CA trusted until a restart.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "distls/util/log.hpp"
#include "distls/util/metrics.hpp"
#include "distls/x509/ossl.hpp"
#include "distls/tls/tls_context.hpp"
#include "distls/tls/tls_provider.hpp"

namespace distls {

class IdentityManager {
 public:
  struct Hooks {
    // A context trusting a different set of CAs was published: live tunnels must be
    // judged again against it.
    std::function<void(const TlsContext&)> trust_changed;
    // A pending bundle waits for a leaf from another CA: renew now rather than at the
    // scheduled time (the source can; the file source cannot).
    std::function<void(const std::string& why)> leaf_wanted;
  };

  IdentityManager(TlsProvider& provider, TlsOptions options, Logger& log, Metrics& metrics);
  void set_hooks(Hooks hooks) { hooks_ = std::move(hooks); }

  // Installs a new leaf, with the pending trust bundle when it covers the leaf, else
  // with the trust in force. Returns why not, on failure.
  std::optional<std::string> install_leaf(ossl::PKey key, std::vector<ossl::X509Ptr> chain,
                                          const std::string& origin);
  // Re-reads the trust bundle and reinstalls the current leaf with it, or keeps it
  // pending (see above). Returns why it is not in force, if it is not.
  std::optional<std::string> load_trust(const std::filesystem::path& bundle);
  // The file source: cert, key and bundle together.
  std::optional<std::string> load_files(const std::filesystem::path& cert, const std::filesystem::path& key,
                                        const std::filesystem::path& bundle);

  bool trust_pending() const { return !pending_path_.empty(); }

 private:
  std::optional<std::string> publish(ossl::PKey key, std::vector<ossl::X509Ptr> chain,
                                     std::vector<ossl::X509Ptr> trust, const std::string& origin);
  void set_pending(const std::filesystem::path& bundle, const std::string& why);
  void clear_pending();

  TlsProvider& provider_;
  TlsOptions options_;
  Logger& log_;
  Metrics& metrics_;
  Hooks hooks_;
  ossl::PKey key_;
  std::vector<ossl::X509Ptr> chain_;
  std::vector<ossl::X509Ptr> trust_;
  std::filesystem::path pending_path_;  // non-empty while a bundle waits for a leaf
};

}  // namespace distls
