// `distls signer`: watches the CertificateSigningRequests for its signerName, approves
// those a pod's service account makes for exactly that pod's identity (signer_policy),
// denies the rest with a reason, and signs what is approved with the CA in its files.
// Idempotent: a CSR already decided or issued is left alone, so a restart or a second
// replica picks up where things stand; every write carries the resourceVersion it was
// decided on, so a concurrent writer makes it fail with 409 rather than overwrite.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "distls/k8s_client.hpp"
#include "distls/signer_policy.hpp"

namespace distls::k8s {

struct SignerOptions {
  SignerPolicy policy;
  std::filesystem::path ca_cert, ca_key;
  std::chrono::seconds resync{300};  // full re-list, in case an event was missed
};

class Signer {
 public:
  // `may_write`: whether this replica may approve and sign now (the leader, or always).
  Signer(Client& client, SignerOptions o, Logger& log, Metrics& metrics, std::function<bool()> may_write);

  boost::asio::awaitable<void> run();
  // Handles one observed CSR: decide, approve or deny, sign. Public for tests.
  boost::asio::awaitable<void> process(boost::json::value csr);

 private:
  boost::asio::awaitable<std::string> list_and_process();  // returns the list's resourceVersion
  boost::asio::awaitable<bool> put_condition(const boost::json::value& csr, const std::string& subresource,
                                             const std::string& type, const Verdict& v);
  boost::asio::awaitable<void> sign(const boost::json::value& csr, const CsrRequest& request);

  Client& client_;
  SignerOptions o_;
  Logger& log_;
  Metrics& metrics_;
  std::function<bool()> may_write_;
};

int run_signer_command(const std::vector<std::string>& args);

}  // namespace distls::k8s
