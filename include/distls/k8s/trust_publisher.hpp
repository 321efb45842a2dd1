// `distls signer --publish-trust NAME`: keeps a ConfigMap NAME (key ca.crt) with the CA
// bundle in every namespace the signer serves, so that sidecars mount the bundle rather
// than operators copying it into each namespace by hand and editing every copy at each
// CA rotation. The bundle is a file the operator controls (--trust-bundle, by default the
// signing CA): a rotation is "old + new" in that file, then "new"; each change reaches
// every namespace within a look, and a ConfigMap someone edited is put back.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "distls/k8s/client.hpp"

namespace distls::k8s {

struct TrustPublisherOptions {
  std::string configmap;                   // the ConfigMap's name, e.g. distls-trust
  std::filesystem::path bundle;            // PEM certificates to publish
  std::set<std::string> namespaces;        // where
  std::chrono::seconds interval{10};       // between looks at the file and the ConfigMaps
};

class TrustPublisher {
 public:
  TrustPublisher(Client& client, TrustPublisherOptions o, Logger& log, Metrics& metrics,
                 std::function<bool()> may_write);

  // Runs until the io_context stops.
  boost::asio::awaitable<void> run();
  // One look: read the bundle, make every ConfigMap carry it. Public for tests.
  boost::asio::awaitable<void> publish_once();

 private:
  boost::asio::awaitable<bool> publish_to(const std::string& ns, const std::string& pem);

  Client& client_;
  TrustPublisherOptions o_;
  Logger& log_;
  Metrics& metrics_;
  std::function<bool()> may_write_;
  std::string last_pem_;  // the last bundle read that parsed
};

}  // namespace distls::k8s
