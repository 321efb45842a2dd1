// The `k8s-csr` cert source: a fresh key in memory, a CertificateSigningRequest with our
// signerName, and a watch until the signer issues, denies or fails it. Works with any
// signer: `distls signer`, or cert-manager's `clusterissuers.cert-manager.io/NAME`.
#pragma once

#include <chrono>
#include <string>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "distls/k8s/client.hpp"
#include "distls/x509/local_ca.hpp"

namespace distls::k8s {

struct CsrSourceOptions {
  std::string signer_name;               // e.g. distls.io/erlang-dist
  std::chrono::seconds ttl{3600};        // expirationSeconds; the API's minimum is 600
  std::string common_name;               // the node name
  certs::Sans sans;                      // IP/DNS from the node name, URI from the trust domain
  std::string name_prefix = "distls-";   // metadata.generateName
  std::chrono::seconds wait{300};        // how long to wait for the signer per attempt
};

// The CSR object distls posts (exposed for tests).
boost::json::value csr_object(const CsrSourceOptions& o, const std::string& csr_pem);

// What an observed CSR says: issued (its certificate chain PEM), denied or failed (why),
// or still pending.
struct CsrState {
  enum class Kind { pending, issued, denied, failed } kind = Kind::pending;
  std::string detail;  // PEM when issued, "Reason: message" otherwise
};
CsrState csr_state(const boost::json::value& csr);

class CsrSource {
 public:
  CsrSource(Client& client, CsrSourceOptions options, Logger& log);

  // One attempt: a new key, a new CSR, and the wait. The error says what happened
  // (denied with the signer's reason, not issued in time, an API error).
  boost::asio::awaitable<std::variant<certs::Leaf, std::string>> issue();

 private:
  boost::asio::awaitable<CsrState> wait_for(const std::string& name, std::string resource_version);

  Client& client_;
  CsrSourceOptions o_;
  Logger& log_;
};

inline constexpr const char* kCsrPath = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

}  // namespace distls::k8s
