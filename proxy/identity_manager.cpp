#include "proxy/identity_manager.hpp"

#include "distls/identity.hpp"
#include "distls/pem.hpp"

namespace distls {

namespace {
std::vector<ossl::X509Ptr> shared(const std::vector<ossl::X509Ptr>& certs) {
  std::vector<ossl::X509Ptr> out;
  for (const auto& c : certs) out.push_back(ossl::share(c.get()));
  return out;
}
}  // namespace

IdentityManager::IdentityManager(TlsProvider& provider, TlsOptions options, Logger& log, Metrics& metrics)
    : provider_(provider), options_(options), log_(log), metrics_(metrics) {
  metrics_.help("distls_identity_updates_total", "Identity or trust bundle changes, by what and result");
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
    metrics_.counter("distls_identity_updates_total", "what=\"" + origin + "\",result=\"refused\"")++;
    log_.error("identity_refused", {{"origin", origin}, {"reason", e.what()},
                                    {"kept_serial", provider_.current() ? provider_.current()->serial() : "none"}});
    return std::string(e.what());
  }
  const auto previous = provider_.current();
  provider_.publish(next);
  metrics_.counter("distls_identity_updates_total", "what=\"" + origin + "\",result=\"installed\"")++;
  const auto& s = next->summary();
  log_.info("identity_installed",
            {{"origin", origin}, {"serial", s.serial}, {"previous_serial", previous ? previous->serial() : "none"},
             {"subject", s.subject}, {"issuer", s.issuer},
             {"expires_in_s", std::chrono::duration_cast<std::chrono::seconds>(s.not_after - std::chrono::system_clock::now()).count()},
             {"trusted_cas", s.trust.size()}});
  return std::nullopt;
}

std::optional<std::string> IdentityManager::install_leaf(ossl::PKey key, std::vector<ossl::X509Ptr> chain,
                                                         const std::string& origin) {
  return publish(std::move(key), std::move(chain), shared(trust_), origin);
}

std::optional<std::string> IdentityManager::load_trust(const std::filesystem::path& bundle) {
  std::vector<ossl::X509Ptr> trust;
  try {
    trust = pem::read_certs(pem::read_file(bundle), bundle.string());
  } catch (const std::exception& e) {
    metrics_.counter("distls_identity_updates_total", "what=\"trust_bundle\",result=\"refused\"")++;
    log_.error("identity_refused", {{"origin", "trust_bundle"}, {"reason", e.what()}});
    return std::string(e.what());
  }
  if (!key_) {  // no leaf yet (the first one is still being obtained): keep it for then
    trust_ = std::move(trust);
    return std::nullopt;
  }
  return publish(ossl::share(key_.get()), shared(chain_), std::move(trust), "trust_bundle");
}

std::optional<std::string> IdentityManager::load_files(const std::filesystem::path& cert,
                                                       const std::filesystem::path& key,
                                                       const std::filesystem::path& bundle) {
  try {
    auto id = Identity::load_files(cert, key, bundle);
    return publish(std::move(id.key), std::move(id.chain), std::move(id.trust), "files");
  } catch (const std::exception& e) {
    metrics_.counter("distls_identity_updates_total", "what=\"files\",result=\"refused\"")++;
    log_.error("identity_refused", {{"origin", "files"}, {"reason", e.what()},
                                    {"kept_serial", provider_.current() ? provider_.current()->serial() : "none"}});
    return std::string(e.what());
  }
}

}  // namespace distls
