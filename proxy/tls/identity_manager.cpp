#include "distls/tls/identity_manager.hpp"

#include "distls/x509/identity.hpp"
#include "distls/x509/pem.hpp"

namespace distls {

namespace {

std::vector<ossl::X509Ptr> shared(const std::vector<ossl::X509Ptr>& certs) {
  std::vector<ossl::X509Ptr> out;
  for (const auto& c : certs) out.push_back(ossl::share(c.get()));
  return out;
}

// Whether `chain` (leaf first) verifies against `trust`; the reason when it does not.
std::optional<std::string> covers(const std::vector<ossl::X509Ptr>& trust, const ossl::PKey& key,
                                  const std::vector<ossl::X509Ptr>& chain) {
  try {
    Identity{ossl::share(key.get()), shared(chain), shared(trust)}.validate();
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

}  // namespace

IdentityManager::IdentityManager(TlsProvider& provider, TlsOptions options, Logger& log, Metrics& metrics)
    : provider_(provider), options_(options), log_(log), metrics_(metrics) {
  metrics_.help("distls_identity_updates_total", "Identity or trust bundle changes, by what and result");
  metrics_.help("distls_trust_bundle_pending", "1 while a trust bundle waits for a certificate it covers");
  metrics_.gauge("distls_trust_bundle_pending") = 0;
}

std::optional<std::string> IdentityManager::publish(ossl::PKey key, std::vector<ossl::X509Ptr> chain,
                                                    std::vector<ossl::X509Ptr> trust, const std::string& origin) {
  std::shared_ptr<const TlsContext> next;
  try {
    Identity id{std::move(key), std::move(chain), std::move(trust)};
    id.validate();
    next = TlsContext::build(id, options_);
    key_ = std::move(id.key);
    chain_ = std::move(id.chain);
    trust_ = std::move(id.trust);
  } catch (const std::exception& e) {
    metrics_.counter("distls_identity_updates_total", {{"what", origin}, {"result", "refused"}})++;
    log_.error("identity_refused", {{"origin", origin}, {"reason", e.what()},
                                    {"kept_serial", provider_.current() ? provider_.current()->serial() : "none"}});
    return std::string(e.what());
  }
  const auto previous = provider_.current();
  provider_.publish(next);
  metrics_.counter("distls_identity_updates_total", {{"what", origin}, {"result", "installed"}})++;
  const auto& s = next->summary();
  log_.info("identity_installed",
            {{"origin", origin}, {"serial", s.serial}, {"previous_serial", previous ? previous->serial() : "none"},
             {"subject", s.subject}, {"issuer", s.issuer},
             {"expires_in_s", std::chrono::duration_cast<std::chrono::seconds>(s.not_after - std::chrono::system_clock::now()).count()},
             {"trusted_cas", s.trust.size()}});
  if (previous && previous->trust_fingerprint() != next->trust_fingerprint() && hooks_.trust_changed)
    hooks_.trust_changed(*next);
  return std::nullopt;
}

void IdentityManager::set_pending(const std::filesystem::path& bundle, const std::string& why) {
  const bool fresh = pending_path_.empty();
  pending_path_ = bundle;
  metrics_.gauge("distls_trust_bundle_pending") = 1;
  metrics_.counter("distls_identity_updates_total", {{"what", "trust_bundle"}, {"result", "pending"}})++;
  log_.warn("trust_bundle_pending",
            {{"file", bundle.string()}, {"reason", why},
             {"detail", "it does not cover this node's certificate; it takes effect with the first certificate it "
                        "covers, and the CAs it drops stay trusted until then"}});
  if (fresh && hooks_.leaf_wanted) hooks_.leaf_wanted("trust bundle pending: " + bundle.string());
}

void IdentityManager::clear_pending() {
  pending_path_.clear();
  metrics_.gauge("distls_trust_bundle_pending") = 0;
}

std::optional<std::string> IdentityManager::install_leaf(ossl::PKey key, std::vector<ossl::X509Ptr> chain,
                                                         const std::string& origin) {
  if (!pending_path_.empty()) {
    // The file may have moved on since it was found pending: read it as it is now.
    std::vector<ossl::X509Ptr> pending;
    try {
      pending = pem::read_certs(pem::read_file(pending_path_), pending_path_.string());
    } catch (const std::exception& e) {
      log_.error("identity_refused", {{"origin", "trust_bundle"}, {"reason", e.what()}});
    }
    if (!pending.empty() && !covers(pending, key, chain)) {
      auto err = publish(std::move(key), std::move(chain), std::move(pending), origin + "+trust_bundle");
      if (!err) clear_pending();
      return err;
    }
  }
  return publish(std::move(key), std::move(chain), shared(trust_), origin);
}

std::optional<std::string> IdentityManager::load_trust(const std::filesystem::path& bundle) {
  std::vector<ossl::X509Ptr> trust;
  try {
    trust = pem::read_certs(pem::read_file(bundle), bundle.string());
  } catch (const std::exception& e) {
    metrics_.counter("distls_identity_updates_total", {{"what", "trust_bundle"}, {"result", "refused"}})++;
    log_.error("identity_refused", {{"origin", "trust_bundle"}, {"reason", e.what()}});
    return std::string(e.what());
  }
  if (!key_) {  // no leaf yet (the first one is still being obtained): keep it for then
    trust_ = std::move(trust);
    return std::nullopt;
  }
  if (auto why = covers(trust, key_, chain_)) {
    set_pending(bundle, *why);
    return why;
  }
  clear_pending();
  return publish(ossl::share(key_.get()), shared(chain_), std::move(trust), "trust_bundle");
}

std::optional<std::string> IdentityManager::load_files(const std::filesystem::path& cert,
                                                       const std::filesystem::path& key,
                                                       const std::filesystem::path& bundle) {
  auto refuse = [&](const std::string& why) -> std::optional<std::string> {
    metrics_.counter("distls_identity_updates_total", {{"what", "files"}, {"result", "refused"}})++;
    log_.error("identity_refused", {{"origin", "files"}, {"reason", why},
                                    {"kept_serial", provider_.current() ? provider_.current()->serial() : "none"}});
    return why;
  };
  std::vector<ossl::X509Ptr> chain, trust;
  ossl::PKey pkey;
  try {
    chain = pem::read_certs(pem::read_file(cert), cert.string());
    pkey = pem::read_private_key(pem::read_file(key), key.string());
    trust = pem::read_certs(pem::read_file(bundle), bundle.string());
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  const auto why = covers(trust, pkey, chain);
  if (!why) {
    clear_pending();
    return publish(std::move(pkey), std::move(chain), std::move(trust), "files");
  }
  // A bundle written ahead of the certificate (a CA swap writes the new CA first) waits
  // for it; the files are read again when they change.
  if (!key_ || covers(trust_, pkey, chain))
    return refuse(cert.string() + " + " + key.string() + " (trust " + bundle.string() + "): " + *why);
  set_pending(bundle, *why);
  if (X509_cmp(chain.front().get(), chain_.front().get()) != 0)
    publish(std::move(pkey), std::move(chain), shared(trust_), "files");
  return why;
}

}  // namespace distls
