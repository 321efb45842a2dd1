#include "distls/sidecar/sidecar.hpp"

#include <cctype>
#include <iostream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "distls/x509/identity.hpp"
#include "distls/util/listen.hpp"
#include "distls/tunnel/socket_dir.hpp"

namespace distls {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

Sidecar::Sidecar(asio::io_context& io, EventLoops& loops, const ProxyConfig& config, Logger& log, Metrics& metrics, Tasks& tasks)
    : config_(config),
      log_(log),
      metrics_(metrics),
      tasks_(tasks),
      tls_(nullptr),
      identity_(tls_, config.tls, log, metrics),
      inbound_limiter_(config.max_connections),
      outbound_limiter_(config.max_outbound),
      dns_(io.get_executor(), DnsResolver::Options{config.dns_server}),
      ctx_{log, metrics, tls_, inbound_limiter_, outbound_limiter_, tunnels_, tasks, sessions_, loops, dns_, book_,
           Limits{config.handshake_timeout, config.peer_idle_timeout, config.max_connections, config.max_outbound,
                  config.handshake_rate},
           config.node, config.peer_port,
           config.listen.address().is_unspecified() ? std::nullopt : std::optional(config.listen.address()),
           config.allow_peers, config.check_source, config.socket_dir},
      listeners_(io.get_executor(), ctx_,
             config.epmd.address().is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                            : asio::ip::address(asio::ip::address_v4::loopback())),
      inbound_(io.get_executor(), ctx_, [this] { return node_address(); }, config.listen),
      epmd_(io.get_executor(), ctx_, registry_, listeners_, config.epmd) {
  identity_.set_hooks({[this](const TlsContext& c) { trust_changed(c); },
                       [this](const std::string& why) {
                         if (rotation_) rotation_->renew_now(why);
                       }});
  init_identity(io);
  if (!config.socket_dir.empty()) dial_socket_.emplace(io.get_executor(), ctx_, config.socket_dir);
  if (config.discovery.kind != DiscoveryConfig::Kind::none)
    discovery_.emplace(io.get_executor(), ctx_, dns_, book_, config.discovery);
  if (config.admin)
    admin_.emplace(io.get_executor(), log, tasks, sessions_,
                   AdminHandlers{[this](std::string& why) { return ready(why); },
                                 [this] { return metrics_text(); }, [this] { return peers_json(); },
                                 [this] { return certs_json(); }},
                   *config.admin, AdminOptions{config.admin_expose});
  metrics_.help("distls_tunnels_open", "Tunnels established now, by direction");
  metrics_.help("distls_tunnels_total", "Tunnels established since start, by direction");
  metrics_.help("distls_bytes_sent_total", "Bytes sent to peers through tunnels, by direction of the tunnel");
  metrics_.help("distls_bytes_received_total", "Bytes received from peers through tunnels, by direction");
  metrics_.help("distls_handshake_failures_total", "Tunnels refused or failed before splicing, by reason");
  metrics_.help("distls_epmd_errors_total", "EPMD requests rejected, by reason");
  metrics_.help("distls_identity_expiry_seconds", "Seconds until the presented certificate expires");
  metrics_.help("distls_tunnels_revoked_total", "Live tunnels closed because the peer no longer verifies against a new trust bundle, by reason");
  metrics_.help("distls_tunnels_peer_cert_expired", "Live tunnels whose peer certificate has expired since the handshake");
  metrics_.help("distls_connections_active", "Inbound and outbound connections held now, handshakes included, by direction");
  metrics_.help("distls_connections_rejected_total", "Connections closed before any TLS work, by reason");
  metrics_.help("distls_epmd_requests_total", "EPMD requests answered, by type");
  metrics_.help("distls_registrations_refused_total", "Node registrations refused, by reason");
  metrics_.help("distls_peer_listeners_open", "Per-peer loopback listeners open now");
  metrics_.help("distls_event_loop_tunnels", "Tunnels splicing now, by event loop (--threads; loop 0 also runs everything else)");
  metrics_.gauge("distls_tunnels_open", {{"direction", "in"}});
  metrics_.gauge("distls_tunnels_open", {{"direction", "out"}});
  // Typed as a gauge before its first listener: promtool (and Prometheus) read a family
  // without samples by its TYPE line.
  metrics_.gauge("distls_peer_listeners_open");
}

void Sidecar::init_identity(asio::io_context& io) {
  const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(config_.reload_interval);
  if (config_.cert_source == "file") {
    if (auto err = identity_.load_files(config_.cert_file, config_.key_file, config_.trust_bundle_file))
      throw std::runtime_error("--cert/--key/--trust-bundle: " + *err);
    watch_.emplace(tasks_,
                   std::vector<std::filesystem::path>{config_.cert_file, config_.key_file, config_.trust_bundle_file},
                   interval, [this] {
                     identity_.load_files(config_.cert_file, config_.key_file, config_.trust_bundle_file);
                   });
    return;
  }
  // local-ca and k8s-csr: the trust bundle first, so that the first leaf is checked against it.
  if (auto err = identity_.load_trust(config_.trust_bundle_file))
    throw std::runtime_error("--trust-bundle: " + *err);
  watch_.emplace(tasks_, std::vector<std::filesystem::path>{config_.trust_bundle_file}, interval,
                 [this] { identity_.load_trust(config_.trust_bundle_file); });
  auto sans = certs::sans_for_host(config_.node.host);
  sans.uris = config_.uri_sans;
  if (config_.cert_source == "k8s-csr") {
    auto conn = config_.kubeconfig.empty() ? k8s::load_in_cluster(process_env())
                                           : k8s::load_kubeconfig(config_.kubeconfig, config_.kube_context);
    if (!config_.pod_namespace.empty()) conn.namespace_name = config_.pod_namespace;
    if (!config_.trust_domain.empty())
      sans.uris.push_back("spiffe://" + config_.trust_domain + "/ns/" + conn.namespace_name + "/sa/" +
                          config_.service_account);
    k8s_.emplace(io.get_executor(), conn, log_, metrics_);
    k8s::CsrSourceOptions opts;
    opts.signer_name = config_.signer_name;
    opts.ttl = config_.cert_ttl;
    opts.common_name = config_.node.full();
    opts.sans = sans;
    // generateName must be a DNS subdomain; alive names may hold more than that allows.
    std::string prefix = "distls-";
    for (char ch : config_.node.alive)
      prefix += std::isalnum(static_cast<unsigned char>(ch)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(ch))) : '-';
    opts.name_prefix = prefix.substr(0, 40) + "-";
    csr_source_.emplace(*k8s_, opts, log_);
    log_.info("k8s_connected", {{"api", conn.describe()}, {"signer", config_.signer_name}});
    rotation_.emplace(tasks_, log_, metrics_, "k8s-csr",
                      [this]() -> asio::awaitable<std::variant<std::chrono::system_clock::time_point, std::string>> {
                        auto got = co_await csr_source_->issue();
                        if (auto* err = std::get_if<std::string>(&got)) co_return *err;
                        co_return install(std::move(std::get<certs::Leaf>(got)), "k8s-csr");
                      });
    return;  // the first certificate arrives asynchronously; /readyz says when
  }
  certs::LocalCa::Options opts;
  opts.ca_cert = config_.ca_cert_file;
  opts.ca_key = config_.ca_key_file;
  opts.ttl = config_.cert_ttl;
  opts.common_name = config_.node.full();
  opts.sans = sans;
  local_ca_.emplace(opts);
  if (auto r = renew_from_local_ca(); auto* err = std::get_if<std::string>(&r))
    throw std::runtime_error("--ca-cert/--ca-key: " + *err);
  rotation_.emplace(tasks_, log_, metrics_, "local-ca",
                    [this]() -> asio::awaitable<std::variant<std::chrono::system_clock::time_point, std::string>> {
                      co_return renew_from_local_ca();
                    });
}

std::variant<std::chrono::system_clock::time_point, std::string> Sidecar::renew_from_local_ca() {
  certs::Leaf leaf;
  try {
    leaf = local_ca_->issue();
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return install(std::move(leaf), "local-ca");
}

std::variant<std::chrono::system_clock::time_point, std::string> Sidecar::install(certs::Leaf leaf,
                                                                                  const std::string& origin) {
  if (auto err = identity_.install_leaf(std::move(leaf.key), std::move(leaf.chain), origin)) return *err;
  return tls_.current()->not_after();
}

void Sidecar::reload() {
  log_.info("reload_requested", {});
  if (watch_) watch_->check_now();
}

void Sidecar::start() {
  if (watch_) watch_->start();
  if (rotation_) rotation_->start(tls_.current() ? std::optional(tls_.current()->not_after()) : std::nullopt);
  inbound_.start();
  epmd_.start();
  if (dial_socket_) dial_socket_->start();
  if (admin_) admin_->start();
  if (discovery_) discovery_->start();
  const auto tls = tls_.current();
  log_.info("proxy_started",
            {{"node", config_.node.full()}, {"listen", to_string(inbound_.local_endpoint())},
             {"epmd", to_string(epmd_.local_endpoint())},
             {"socket_dir", config_.socket_dir.empty() ? std::string("off") : config_.socket_dir},
             {"admin", admin_ ? to_string(admin_->local_endpoint()) : std::string("off")},
             {"peer_port", config_.peer_port}, {"cert_serial", tls ? tls->serial() : "pending"},
             {"tls_min", config_.tls.min_version == TLS1_2_VERSION ? "1.2" : "1.3"}, {"threads", ctx_.loops.size()}});
}

void Sidecar::stop() {
  if (discovery_) discovery_->stop();
  if (watch_) watch_->stop();
  if (rotation_) rotation_->stop();
  dns_.stop();
  inbound_.stop();
  epmd_.stop();
  listeners_.stop();
  if (dial_socket_) dial_socket_->stop();
  if (admin_) admin_->stop();
}

std::size_t Sidecar::close_all() { return sessions_.close_all(); }

std::optional<NodeAddress> Sidecar::node_address() const {
  const Registration* reg = registry_.find(config_.node.alive);
  if (!reg) return std::nullopt;
  if (reg->request.port == 0) return unix_stream::endpoint(node_socket_path(config_.socket_dir, reg->request.name));
  return asio::ip::tcp::endpoint(reg->loopback, reg->request.port);
}

bool Sidecar::ready(std::string& why_not) const {
  if (tasks_.failed()) {
    why_not = "stopped: " + tasks_.first_failure();
    return false;
  }
  std::string label;
  if (!tls_.usable(label)) {
    why_not = label == "no_identity" ? "no identity yet" : "identity expired";
    return false;
  }
  if (!registry_.find(config_.node.alive)) {
    why_not = "node " + config_.node.alive + " has not registered";
    return false;
  }
  return true;
}

std::string Sidecar::metrics_text() {
  if (const auto tls = tls_.current())
    metrics_.gauge("distls_identity_expiry_seconds") =
        unix_seconds(tls->not_after()) - unix_seconds(std::chrono::system_clock::now());
  metrics_.gauge("distls_connections_active", {{"direction", "in"}}) = static_cast<std::int64_t>(inbound_limiter_.active());
  metrics_.gauge("distls_connections_active", {{"direction", "out"}}) = static_cast<std::int64_t>(outbound_limiter_.active());
  for (std::size_t i = 0; i < ctx_.loops.size(); ++i)
    metrics_.gauge("distls_event_loop_tunnels", {{"loop", std::to_string(i)}}) =
        static_cast<std::int64_t>(ctx_.loops.load(i));
  metrics_.gauge("distls_tunnels_peer_cert_expired") =
      static_cast<std::int64_t>(tunnels_.peer_expired(std::chrono::system_clock::now()));
  return metrics_.render();
}

void Sidecar::trust_changed(const TlsContext& now_trusted) {
  const auto closed = tunnels_.close_untrusted(now_trusted.trust_store(), [this](const TunnelRegistry::Tunnel& t,
                                                                                   const Reverify& why) {
    metrics_.counter("distls_tunnels_revoked_total", {{"reason", why.reason}})++;
    book_.failed(t.peer.full(), "revoked_" + why.reason);
    log_.warn("tunnel_revoked", {{"direction", t.inbound ? "in" : "out"}, {"peer", t.peer.full()},
                                 {"remote", t.remote}, {"reason", why.reason}, {"detail", why.detail}});
  });
  log_.info("tunnels_reverified", {{"tunnels", tunnels_.size()}, {"closed", closed},
                                   {"trusted_cas", now_trusted.summary().trust.size()}});
}

std::string Sidecar::certs_json() const {
  json::object o;
  o["node"] = config_.node.full();
  o["source"] = config_.cert_source;
  if (const auto tls = tls_.current()) {
    const auto& s = tls->summary();
    json::array trust;
    for (const auto& t : s.trust) trust.emplace_back(t);
    o["serial"] = s.serial;
    o["subject"] = s.subject;
    o["issuer"] = s.issuer;
    o["not_before"] = unix_seconds(s.not_before);
    o["not_after"] = unix_seconds(s.not_after);
    o["expires_in_s"] = unix_seconds(s.not_after) - unix_seconds(std::chrono::system_clock::now());
    o["trust_bundle"] = std::move(trust);
  } else {
    o["serial"] = nullptr;
  }
  if (rotation_) {
    const auto& sched = rotation_->schedule();
    o["renewal_failures"] = sched.failures();
    if (auto next = sched.next_attempt()) o["next_renewal"] = unix_seconds(*next);
  }
  o["renewals_ok"] = metrics_.value("distls_renewals_total", {{"result", "ok"}});
  o["renewals_failed"] = metrics_.value("distls_renewals_total", {{"result", "failed"}});
  return json::serialize(o) + "\n";
}

std::string Sidecar::peers_json() const {
  json::object peers;
  for (const auto& [name, p] : book_.all()) {
    json::object o{{"discovered", p.discovered},
                   {"connected", p.tunnels_in + p.tunnels_out > 0},
                   {"tunnels_in", p.tunnels_in},
                   {"tunnels_out", p.tunnels_out},
                   {"failures", p.failures}};
    o["last_error"] = p.last_error.empty() ? json::value(nullptr) : json::value(p.last_error);
    if (p.last_error_at) o["last_error_at"] = unix_seconds(*p.last_error_at);
    if (p.connected_at) o["connected_at"] = unix_seconds(*p.connected_at);
    peers[name] = std::move(o);
  }
  const auto now = std::chrono::system_clock::now();
  for (const auto& t : tunnels_.all()) {
    auto& o = peers[t.peer.full()];
    if (!o.is_object()) o = json::object{{"discovered", false}, {"connected", true}};
    // The earliest expiry among the peer's live tunnels: the one that matters.
    auto& p = o.as_object();
    const auto at = unix_seconds(t.peer_not_after);
    if (const auto* seen = p.if_contains("peer_cert_not_after"); !seen || seen->as_int64() > at) {
      p["peer_cert_not_after"] = at;
      p["peer_cert_expired"] = t.peer_not_after <= now;
      // Which CA the tunnel's peer was authenticated under: what a CA rotation waits on.
      if (t.peer_cert) p["peer_cert_issuer"] = name_text(X509_get_issuer_name(t.peer_cert.get()));
    }
  }
  for (const auto& l : listeners_.list()) {
    auto& o = peers[l.peer];
    if (!o.is_object()) o = json::object{{"discovered", false}, {"connected", false}};
    o.as_object()["loopback_port"] = l.port;
  }
  json::object doc{{"node", config_.node.full()}, {"peers", std::move(peers)}};
  if (discovery_) doc["discovery"] = describe(config_.discovery);
  return json::serialize(doc) + "\n";
}

}  // namespace distls
