// k8s_api_double: a Kubernetes API server test double for distls's tests. main owns the
// io_context and every part; see tests/k8s/README.md for the contract.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>
#include <random>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/parse.hpp>

#include "distls/util/log.hpp"
#include "distls/util/listen.hpp"
#include "tests/k8s/control/control_api.hpp"
#include "tests/k8s/api/dispatcher.hpp"
#include "tests/k8s/control/fault_injector.hpp"
#include "tests/k8s/http/https_server.hpp"
#include "tests/k8s/api/kube_api.hpp"
#include "tests/k8s/store/object_store.hpp"
#include "tests/k8s/control/options.hpp"
#include "tests/k8s/auth/rbac_authorizer.hpp"
#include "tests/k8s/auth/rbac_bootstrap.hpp"
#include "tests/k8s/http/request_log.hpp"
#include "tests/k8s/http/serving_identity.hpp"
#include "tests/k8s/control/state_dir.hpp"
#include "tests/k8s/auth/token_registry.hpp"
#include "tests/k8s/store/watch_hub.hpp"

namespace asio = boost::asio;
using namespace distls;
using namespace distls::k8s_double;

int main(int argc, char** argv) {
  const auto parsed = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (parsed.help) {
    std::cout << usage();
    return 0;
  }
  if (!parsed.options) {
    std::cerr << "k8s_api_double: " << parsed.error << "\n";
    return 2;
  }
  const Options& opts = *parsed.options;
  Logger log(std::cerr, opts.log_level);
  try {
    // A port file from an earlier run would announce a server that is not there yet.
    std::filesystem::remove(opts.state_dir / "port");
    asio::io_context io;
    std::random_device rd;
    IdSource ids((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
    const auto now = [] { return std::chrono::system_clock::now(); };

    ObjectStore store(opts.history);
    install_bootstrap_policy(store, ids, now());
    for (const auto& file : opts.rbac_files) {
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      boost::system::error_code ec;
      const auto list = boost::json::parse(text.str(), ec);
      if (!in || ec) throw std::runtime_error("--rbac " + file.string() + ": not readable as JSON");
      if (auto n = apply_rbac(store, list, ids, now()); !n)
        throw std::runtime_error("--rbac " + file.string() + ": " + n.error().message);
    }
    TokenRegistry tokens(ids, now);
    tokens.set_pod_lookup([&store](const std::string& ns, const std::string& name) -> std::optional<std::string> {
      const auto* pod = store.get("pods", ns, name);
      if (pod == nullptr) return std::nullopt;
      return string_at(*pod, {"metadata", "uid"});
    });
    const std::string admin_token = opts.admin_token.empty() ? ids.token() : opts.admin_token;
    tokens.add(admin_token, "admin", {"system:masters"});
    for (const auto& t : opts.tokens) tokens.add(t.token, t.user, t.groups);
    RbacAuthorizer authz(store);
    FaultInjector faults;
    RequestLog requests;
    WatchHub watches;
    KubeApi api(store, authz, ids, now, opts.watch_timeout);
    ControlApi control(store, tokens, faults, requests, watches, ids, now);
    Dispatcher dispatcher(api, control, tokens, faults, requests, log, now);

    std::vector<std::string> sans = opts.sans;
    if (!opts.listen.address().is_unspecified()) sans.push_back(opts.listen.address().to_string());
    const ServingIdentity identity = opts.tls_cert
                                         ? ServingIdentity::load(*opts.tls_cert, *opts.tls_key, *opts.tls_ca)
                                         : ServingIdentity::generate(sans);
    auto tls = identity.server_context();
    ServerTimings timings;
    timings.bookmark_interval = opts.bookmark_interval;
    HttpsServer server(io.get_executor(), tls, dispatcher, store, watches, log, opts.listen, timings);
    store.set_listener([&server] { server.wake_watches(); });
    watches.set_waker([&server] { server.wake_watches(); });

    auto ep = server.local_endpoint();
    // A wildcard listener is reached through loopback.
    if (ep.address().is_unspecified())
      ep.address(ep.address().is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                      : asio::ip::address(asio::ip::address_v4::loopback()));
    const std::string host_port = to_string(ep);
    api.set_server_address(host_port);
    server.start();
    write_state_dir(opts.state_dir, "https://" + host_port, ep.port(), identity.ca_pem, admin_token);
    log.info("listening", {{"url", "https://" + host_port}, {"state_dir", opts.state_dir.string()}});

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log.info("stopping", {{"signal", sig}});
      server.stop();
      io.stop();
    });
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "k8s_api_double: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
