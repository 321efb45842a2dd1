// `distls signer`: watches the CertificateSigningRequests for its signerName, approves
// those a pod makes with its own bound token for exactly that pod's identity
// (signer_policy), denies the rest with a reason, and signs what is approved with the CA
// in its files. Every decision is also a Kubernetes Event on the CSR, so that
// `kubectl describe csr` says why.
//
// Idempotent: a CSR already decided or issued is left alone, so a restart or a second
// replica picks up where things stand; every write carries the resourceVersion it was
// decided on, so a concurrent writer makes it fail with 409 rather than overwrite.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "distls/k8s/client.hpp"
#include "distls/k8s/signer_policy.hpp"
#include "distls/util/tasks.hpp"

namespace distls::k8s {

struct SignerOptions {
  SignerPolicy policy;
  std::filesystem::path ca_cert, ca_key;
  std::chrono::seconds resync{300};  // full re-list, in case an event was missed
  std::string instance;              // this replica, in Events' reportingInstance
  // Check and approve or deny only: another signer (cert-manager's CSR controller, for
  // a clusterissuers.cert-manager.io/NAME signerName) signs what was approved.
  bool approve_only = false;
};

class Signer {
 public:
  // `may_write`: whether this replica may approve and sign now (the leader, or always).
  Signer(Client& client, SignerOptions o, Logger& log, Metrics& metrics, Tasks& tasks,
         std::function<bool()> may_write);

  boost::asio::awaitable<void> run();
  // Handles one observed CSR: decide, approve or deny, sign. Public for tests.
  boost::asio::awaitable<void> process(boost::json::value csr);

 private:
  boost::asio::awaitable<std::string> list_and_process();  // returns the list's resourceVersion
  // One worker per CSR at a time; a CSR seen again while its worker runs is looked at once more after.
  void dispatch(boost::json::value csr);
  void look_again(const std::string& name, std::chrono::seconds after);
  boost::asio::awaitable<Verdict> judge(const CsrRequest& request);
  boost::asio::awaitable<bool> put_condition(const boost::json::value& csr, const std::string& subresource,
                                             const std::string& type, const Verdict& v);
  boost::asio::awaitable<void> sign(const boost::json::value& csr, const CsrRequest& request);
  boost::asio::awaitable<void> record_event(const boost::json::value& csr, bool warning, const std::string& reason,
                                            const std::string& message);

  Client& client_;
  SignerOptions o_;
  Logger& log_;
  Metrics& metrics_;
  Tasks& tasks_;
  std::function<bool()> may_write_;
  std::map<std::string, bool> busy_;  // CSR name -> seen again while its worker ran
  std::map<std::string, std::chrono::steady_clock::time_point> waiting_;  // first "wait" verdict
};

int run_signer_command(const std::vector<std::string>& args);
std::string signer_usage();
std::vector<std::string_view> signer_option_names();

}  // namespace distls::k8s
