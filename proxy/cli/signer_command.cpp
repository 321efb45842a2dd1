// `distls signer`: the command line around Signer, leader election and the admin server.
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/k8s/kubeconfig.hpp"
#include "distls/k8s/leader_election.hpp"
#include "distls/x509/signing_ca.hpp"
#include "distls/util/options.hpp"
#include "distls/k8s/signer.hpp"
#include "distls/util/tasks.hpp"
#include "distls/k8s/trust_publisher.hpp"
#include "distls/util/sessions.hpp"
#include "distls/util/stop_signal.hpp"
#include "distls/admin/admin_server.hpp"
#include "distls/sidecar/config.hpp"

namespace distls::k8s {

namespace asio = boost::asio;

namespace {

struct SignerConfig {
  SignerOptions signer;
  std::string kubeconfig, context;
  std::optional<asio::ip::tcp::endpoint> admin{asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 9902)};
  bool leader_elect = false;
  TrustPublisherOptions publish;
  LeaderElection::Options lease{"", "distls-signer", "", std::chrono::seconds(15), std::chrono::seconds(10),
                                std::chrono::seconds(2)};
  AdminExposure admin_expose = AdminExposure::probes;
  LogLevel log_level = LogLevel::info;
};

const std::vector<Option<SignerConfig>>& signer_options() {
  static const std::vector<Option<SignerConfig>> options{  // immutable table
      {"signer-name", "DOMAIN/PATH", "distls.io/erlang-dist", "the signerName whose CSRs this signer handles",
       [](SignerConfig& c, std::string_view v) {
         const auto slash = v.find('/');
         if (slash == std::string_view::npos || slash == 0 || slash + 1 == v.size())
           throw ConfigError("'" + std::string(v) + "' is not DOMAIN/PATH");
         c.signer.policy.signer_name = v;
       }},
      {"ca-cert", "FILE", "", "CA certificate (then intermediates) to sign with (required unless --approve-only)",
       [](SignerConfig& c, std::string_view v) { c.signer.ca_cert = nonempty_option(v); }},
      {"ca-key", "FILE", "", "that CA's private key, read at each signature (required unless --approve-only)",
       [](SignerConfig& c, std::string_view v) { c.signer.ca_key = nonempty_option(v); }},
      {"approve-only", "", "false", "check and approve or deny; another signer (cert-manager) signs",
       [](SignerConfig& c, std::string_view v) { c.signer.approve_only = parse_flag(v); }, true},
      {"publish-trust", "NAME", "", "keep ConfigMap NAME (key ca.crt) with the trust bundle in each --namespaces namespace",
       [](SignerConfig& c, std::string_view v) { c.publish.configmap = nonempty_option(v); }},
      {"trust-bundle", "FILE", "", "the CA bundle --publish-trust publishes [--ca-cert]",
       [](SignerConfig& c, std::string_view v) { c.publish.bundle = nonempty_option(v); }},
      {"max-ttl", "DURATION", "1h", "longest certificate issued; longer requests are capped",
       [](SignerConfig& c, std::string_view v) {
         c.signer.policy.max_ttl = duration_option(v);
         // Kubernetes asks for at least 10m, but a signer may issue shorter (tests renew fast).
         if (c.signer.policy.max_ttl < std::chrono::seconds(10)) throw ConfigError("'" + std::string(v) + "' is below 10s");
       }},
      {"namespaces", "NS,...", "", "issue only to pods of these namespaces [every namespace]",
       [](SignerConfig& c, std::string_view v) {
         c.signer.policy.namespaces.clear();
         for (std::size_t start = 0; start <= v.size();) {
           auto end = v.find(',', start);
           if (end == std::string_view::npos) end = v.size();
           const auto ns = v.substr(start, end - start);
           if (ns.empty() || ns.size() > 63 || ns.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos)
             throw ConfigError("'" + std::string(ns) + "' is not a namespace name");
           c.signer.policy.namespaces.emplace(ns);
           start = end + 1;
         }
       }},
      {"max-pending-age", "DURATION", "5m", "deny pending CSRs older than this: their requester gave up (its wait)",
       [](SignerConfig& c, std::string_view v) { c.signer.policy.max_pending_age = duration_option(v); }},
      {"pod-wait", "DURATION", "60s", "how long a CSR may wait for its pod's IP to appear in the API",
       [](SignerConfig& c, std::string_view v) { c.signer.policy.pod_wait = duration_option(v); }},
      {"trust-domain", "DOMAIN", "", "SPIFFE trust domain: URI SANs must be spiffe://DOMAIN/ns/NS/sa/SA",
       [](SignerConfig& c, std::string_view v) { c.signer.policy.trust_domain = nonempty_option(v); }},
      {"cluster-domain", "DOMAIN", "cluster.local", "for the DNS SANs of pods with hostname and subdomain",
       [](SignerConfig& c, std::string_view v) { c.signer.policy.cluster_domain = nonempty_option(v); }},
      {"kubeconfig", "FILE", "", "kubeconfig to use instead of the in-cluster service account",
       [](SignerConfig& c, std::string_view v) { c.kubeconfig = nonempty_option(v); }},
      {"context", "NAME", "", "kubeconfig context [current-context]",
       [](SignerConfig& c, std::string_view v) { c.context = nonempty_option(v); }},
      {"resync", "DURATION", "5m", "full re-list of CSRs, in case an event was missed",
       [](SignerConfig& c, std::string_view v) { c.signer.resync = duration_option(v); }},
      {"admin", "IP:PORT|off", "127.0.0.1:9902", "admin HTTP: /healthz /readyz /metrics",
       [](SignerConfig& c, std::string_view v) {
         if (v == "off") return c.admin.reset();
         auto ep = parse_endpoint(v);
         if (!ep) throw ConfigError("'" + std::string(v) + "' is not IP:PORT");
         c.admin = *ep;
       }},
      {"admin-expose", "probes|metrics|all", "probes", "what --admin answers beyond loopback (loopback gets all)",
       [](SignerConfig& c, std::string_view v) { c.admin_expose = admin_exposure_option(v); }},
      {"leader-elect", "", "false", "hold a Lease; only the holder approves and signs", 
       [](SignerConfig& c, std::string_view v) { c.leader_elect = parse_flag(v); }, true},
      {"lease-namespace", "NS", "", "namespace of the Lease [the service account's namespace]",
       [](SignerConfig& c, std::string_view v) { c.lease.ns = nonempty_option(v); }},
      {"lease-name", "NAME", "distls-signer", "name of the Lease",
       [](SignerConfig& c, std::string_view v) { c.lease.name = nonempty_option(v); }},
      {"lease-identity", "ID", "", "this replica's identity in the Lease [the host name]",
       [](SignerConfig& c, std::string_view v) { c.lease.identity = nonempty_option(v); }},
      {"lease-duration", "DURATION", "15s", "how long a Lease that is not renewed keeps others out",
       [](SignerConfig& c, std::string_view v) { c.lease.duration = duration_option(v); }},
      {"lease-renew-deadline", "DURATION", "10s", "a leader that has not renewed for this long stops signing",
       [](SignerConfig& c, std::string_view v) { c.lease.renew_deadline = duration_option(v); }},
      {"lease-retry", "DURATION", "2s", "between attempts to acquire or renew the Lease",
       [](SignerConfig& c, std::string_view v) { c.lease.retry = duration_option(v); }},
      {"log-level", "LEVEL", "info", "debug, info, warn or error",
       [](SignerConfig& c, std::string_view v) {
         auto l = parse_log_level(v);
         if (!l) throw ConfigError("'" + std::string(v) + "' is not debug, info, warn or error");
         c.log_level = *l;
       }},
  };
  return options;
}

}  // namespace

std::string signer_usage() {
  return options_usage(signer_options(),
                       "usage: distls signer --ca-cert F --ca-key F [--signer-name S] [--max-ttl 1h] [options]\n"
                       "       distls signer --approve-only --signer-name clusterissuers.cert-manager.io/NAME [options]\n");
}

std::vector<std::string_view> signer_option_names() {
  std::vector<std::string_view> out;
  for (const auto& o : signer_options()) out.push_back(o.name);
  return out;
}

int run_signer_command(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << signer_usage();
      return 0;
    }
  SignerConfig c;
  c.signer.policy.signer_name = "distls.io/erlang-dist";
  try {
    apply_options(c, signer_options(), args, process_env(), "signer");
    if (!c.signer.approve_only && c.signer.ca_cert.empty()) throw ConfigError("--ca-cert: required");
    if (!c.signer.approve_only && c.signer.ca_key.empty()) throw ConfigError("--ca-key: required");
    if (c.signer.approve_only && (!c.signer.ca_cert.empty() || !c.signer.ca_key.empty()))
      throw ConfigError("--ca-cert/--ca-key: not used with --approve-only (the issuer holds the CA)");
    if (!c.publish.configmap.empty()) {
      if (c.signer.policy.namespaces.empty())
        throw ConfigError("--publish-trust: needs --namespaces (the namespaces to publish into)");
      if (c.publish.bundle.empty()) c.publish.bundle = c.signer.ca_cert;
      if (c.publish.bundle.empty()) throw ConfigError("--publish-trust: needs --trust-bundle with --approve-only");
      c.publish.namespaces = c.signer.policy.namespaces;
    } else if (!c.publish.bundle.empty()) {
      throw ConfigError("--trust-bundle: only used with --publish-trust");
    }
    if (!(c.lease.retry < c.lease.renew_deadline && c.lease.renew_deadline < c.lease.duration))
      throw ConfigError("--lease-retry < --lease-renew-deadline < --lease-duration must hold");
  } catch (const ConfigError& e) {
    std::cerr << "distls signer: " << e.what() << "\n";
    return 2;
  }
  Logger log(std::cerr, c.log_level);
  Metrics metrics;
  // Declared in dependency order, destroyed in the reverse; shutdown (below) waits for
  // every coroutine to end before io.run() returns, so none outlives what it uses.
  asio::io_context io(1);
  int exit_code = 0;
  std::function<void(const std::string&)> shut_down;
  Tasks tasks(io.get_executor(), log, metrics, [&](const std::string& task, const std::string& why) {
    // The signer cannot do its job without these: exit, and let the Deployment restart it.
    log.error("signer_stopped", {{"task", task}, {"reason", why}});
    exit_code = 3;
    shut_down("essential task " + task + " stopped");
  });
  Sessions sessions;
  StopSignal stop(io.get_executor());
  std::optional<Client> client;
  std::optional<LeaderElection> election;
  std::optional<AdminServer> admin;
  try {
    // The CA is checked once at startup so that a typo fails now, not at the first CSR.
    if (!c.signer.approve_only) certs::SigningCa::load(c.signer.ca_cert, c.signer.ca_key);
    auto conn = c.kubeconfig.empty() ? load_in_cluster(process_env()) : load_kubeconfig(c.kubeconfig, c.context);
    client.emplace(io.get_executor(), conn, log, metrics);
    if (c.lease.identity.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      c.lease.identity = host;
    }
    c.signer.instance = c.lease.identity;
    if (c.leader_elect) {
      if (c.lease.ns.empty()) c.lease.ns = conn.namespace_name;
      election.emplace(*client, c.lease, log, metrics);
    }
    if (c.admin)
      admin.emplace(io.get_executor(), log, tasks, sessions,
                    AdminHandlers{[&tasks](std::string& why) {
                                    // A standby replica is ready too; a signer whose loop stopped is not.
                                    if (tasks.failed()) why = "stopped: " + tasks.first_failure();
                                    return !tasks.failed();
                                  },
                                  [&metrics] { return metrics.render(); }, [] { return std::string("{}\n"); },
                                  [] { return std::string("{}\n"); }},
                    *c.admin, AdminOptions{c.admin_expose});
  } catch (const std::exception& e) {
    std::cerr << "distls signer: " << e.what() << "\n";
    return 1;
  }
  auto may_write = [&election] { return !election || election->leading(); };
  Signer signer(*client, c.signer, log, metrics, tasks, may_write);
  std::optional<TrustPublisher> publisher;
  if (!c.publish.configmap.empty()) publisher.emplace(*client, c.publish, log, metrics, may_write);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool stopping = false;
  shut_down = [&](const std::string& why) {
    if (stopping) return;
    stopping = true;
    log.info("shutdown", {{"reason", why}});
    tasks.stopping();
    stop.request();  // the signer, publisher and election loops end, their requests cancelled
    if (admin) admin->stop();
    sessions.close_all();
    tasks.spawn("shutdown", [&]() -> asio::awaitable<void> {
      // Hand the Lease back, so that the other replica signs now, not after the lease
      // duration (a rollout would otherwise lose that much signing).
      if (election) co_await election->release();
      asio::steady_timer tick(io);
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (tasks.running() > 1 && std::chrono::steady_clock::now() < until) {
        tick.expires_after(std::chrono::milliseconds(10));
        co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      signals.cancel();
    });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) shut_down("signal " + std::to_string(sig));
  });
  if (election) tasks.spawn("leader-election", until_stopped(stop, election->run()), Tasks::Kind::essential);
  tasks.spawn("signer", until_stopped(stop, signer.run()), Tasks::Kind::essential);
  if (publisher) tasks.spawn("trust-publisher", until_stopped(stop, publisher->run()), Tasks::Kind::essential);
  if (admin) admin->start();
  io.run();
  if (tasks.running() > 0) {
    log.error("shutdown_incomplete", {{"tasks_left", tasks.running()}});
    std::quick_exit(exit_code ? exit_code : 3);
  }
  return exit_code;
}

}  // namespace distls::k8s
