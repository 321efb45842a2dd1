#include "distls/sidecar/config.hpp"

#include <charconv>
#include <cstdlib>
#include <map>

#include "distls/util/duration.hpp"

namespace distls {
namespace {

namespace ip = boost::asio::ip;

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::size_t positive_count(std::string_view v) {
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || n == 0)
    throw ConfigError("'" + std::string(v) + "' is not a positive number");
  return n;
}

ip::tcp::endpoint endpoint_or_throw(std::string_view v) {
  auto ep = parse_endpoint(v);
  if (!ep) throw ConfigError("'" + std::string(v) + "' is not IP:PORT (IPv6 as [addr]:port)");
  return *ep;
}

std::vector<OptionSpec> make_options() {
  return {
      {"node", "ALIVE@HOST", "", "the local node's full name; HOST is this pod's identity (required)",
       [](ProxyConfig& c, std::string_view v) {
         auto n = parse_node_name(v);
         if (!n) throw ConfigError("'" + std::string(v) + "' is not a full node name such as app@10.0.0.5");
         c.node = *n;
       }},
      {"listen", "IP:PORT", "0.0.0.0:4370", "TLS listener for peers",
       [](ProxyConfig& c, std::string_view v) { c.listen = endpoint_or_throw(v); }},
      {"peer-port", "PORT", "4370", "port where peers' distls listen",
       [](ProxyConfig& c, std::string_view v) {
         auto p = parse_port(v);
         if (!p || *p == 0) throw ConfigError("'" + std::string(v) + "' is not a port (1-65535)");
         c.peer_port = *p;
       }},
      {"epmd", "IP:PORT", "127.0.0.1:4369", "EPMD-compatible local listener (the node's ERL_EPMD_PORT)",
       [](ProxyConfig& c, std::string_view v) { c.epmd = endpoint_or_throw(v); }},
      {"socket-dir", "DIR", "", "Unix sockets to the node (-proto_dist distls): DIR/distls.sock, the node at DIR/ALIVE.sock",
       [](ProxyConfig& c, std::string_view v) { c.socket_dir = nonempty_option(v); }},
      {"admin", "IP:PORT|off", "127.0.0.1:9901", "admin HTTP: /healthz /readyz /metrics /peers /certs",
       [](ProxyConfig& c, std::string_view v) {
         if (v == "off")
           c.admin.reset();
         else
           c.admin = endpoint_or_throw(v);
       }},
      {"admin-expose", "probes|metrics|all", "probes", "what --admin answers beyond loopback (loopback gets all)",
       [](ProxyConfig& c, std::string_view v) { c.admin_expose = admin_exposure_option(v); }},
      {"cert-source", "file|local-ca|k8s-csr", "file", "where the identity comes from",
       [](ProxyConfig& c, std::string_view v) {
         if (v != "file" && v != "local-ca" && v != "k8s-csr")
           throw ConfigError("'" + std::string(v) + "' is not a cert source (file, local-ca, k8s-csr)");
         c.cert_source = v;
       }},
      {"cert", "FILE", "", "PEM certificate chain, leaf first (file source)",
       [](ProxyConfig& c, std::string_view v) { c.cert_file = nonempty_option(v); }},
      {"key", "FILE", "", "PEM private key (file source)",
       [](ProxyConfig& c, std::string_view v) { c.key_file = nonempty_option(v); }},
      {"trust-bundle", "FILE", "", "PEM CA certificates peers must chain to (local-ca: --ca-cert)",
       [](ProxyConfig& c, std::string_view v) { c.trust_bundle_file = nonempty_option(v); }},
      {"ca-cert", "FILE", "", "CA certificate that signs this node's certs (local-ca)",
       [](ProxyConfig& c, std::string_view v) { c.ca_cert_file = nonempty_option(v); }},
      {"ca-key", "FILE", "", "that CA's private key, read at each renewal, never written (local-ca)",
       [](ProxyConfig& c, std::string_view v) { c.ca_key_file = nonempty_option(v); }},
      {"cert-ttl", "DURATION", "1h", "lifetime of the certs distls obtains (local-ca, k8s-csr)",
       [](ProxyConfig& c, std::string_view v) {
         c.cert_ttl = duration_option(v);
         if (c.cert_ttl < std::chrono::seconds(10)) throw ConfigError("'" + std::string(v) + "' is below 10s");
       }},
      {"uri-san", "URI", "", "URI SAN (e.g. a SPIFFE ID) to put in obtained certs; repeatable",
       [](ProxyConfig& c, std::string_view v) {
         if (v.find("://") == std::string_view::npos || v.find_first_of(" \t\n") != std::string_view::npos)
           throw ConfigError("'" + std::string(v) + "' is not a URI such as spiffe://td/ns/app/sa/app");
         c.uri_sans.emplace_back(v);
       }},
      {"signer-name", "DOMAIN/PATH", "distls.io/erlang-dist", "signerName of the CSRs distls creates (k8s-csr)",
       [](ProxyConfig& c, std::string_view v) {
         const auto slash = v.find('/');
         if (slash == std::string_view::npos || slash == 0 || slash + 1 == v.size())
           throw ConfigError("'" + std::string(v) + "' is not DOMAIN/PATH such as distls.io/erlang-dist");
         c.signer_name = v;
       }},
      {"kubeconfig", "FILE", "", "kubeconfig for the Kubernetes API (k8s-csr) [in-cluster service account]",
       [](ProxyConfig& c, std::string_view v) { c.kubeconfig = nonempty_option(v); }},
      {"context", "NAME", "", "kubeconfig context (k8s-csr) [current-context]",
       [](ProxyConfig& c, std::string_view v) { c.kube_context = nonempty_option(v); }},
      {"trust-domain", "DOMAIN", "", "SPIFFE trust domain: adds URI SAN spiffe://DOMAIN/ns/NS/sa/SA (k8s-csr)",
       [](ProxyConfig& c, std::string_view v) { c.trust_domain = nonempty_option(v); }},
      {"service-account", "NAME", "", "this pod's service account, for the SPIFFE ID (k8s-csr; downward API)",
       [](ProxyConfig& c, std::string_view v) { c.service_account = nonempty_option(v); }},
      {"namespace", "NS", "", "this pod's namespace, for the SPIFFE ID (k8s-csr) [in-cluster namespace or the context's]",
       [](ProxyConfig& c, std::string_view v) { c.pod_namespace = nonempty_option(v); }},
      {"reload-interval", "DURATION", "5s", "how often cert, key and trust bundle files are checked for changes",
       [](ProxyConfig& c, std::string_view v) { c.reload_interval = duration_option(v); }},
      {"tls-min", "1.3|1.2", "1.3", "lowest TLS version accepted or offered",
       [](ProxyConfig& c, std::string_view v) {
         const int ver = parse_tls_version(v);
         if (ver == 0) throw ConfigError("'" + std::string(v) + "' is not 1.2 or 1.3");
         c.tls.min_version = ver;
       }},
      {"handshake-timeout", "DURATION", "10s", "deadline for a peer's TLS handshake and first frame",
       [](ProxyConfig& c, std::string_view v) { c.handshake_timeout = duration_option(v); }},
      {"peer-idle-timeout", "DURATION", "5m", "close a per-peer loopback listener unused this long",
       [](ProxyConfig& c, std::string_view v) { c.peer_idle_timeout = duration_option(v); }},
      {"max-connections", "N", "4096", "inbound handshakes and tunnels held at once",
       [](ProxyConfig& c, std::string_view v) { c.max_connections = positive_count(v); }},
      {"max-outbound", "N", "4096", "outbound tunnels held at once (a budget of their own)",
       [](ProxyConfig& c, std::string_view v) { c.max_outbound = positive_count(v); }},
      {"threads", "N", "auto", "event loops carrying tunnels (auto: the CPUs the process may use, cgroup quota included)",
       [](ProxyConfig& c, std::string_view v) {
         if (v == "auto") {
           c.threads = 0;
           return;
         }
         c.threads = positive_count(v);
         if (c.threads > 256) throw ConfigError("'" + std::string(v) + "' is more than 256 threads");
       }},
      {"discovery", "SPEC", "", "static:N1,N2 | dns-a:NAME | dns-aaaa:NAME | dns:NAME | dns-srv:NAME; peers the node connects to",
       [](ProxyConfig& c, std::string_view v) {
         const auto basename = c.discovery.basename;
         const auto refresh = c.discovery.refresh;
         try {
           c.discovery = parse_discovery(v);
         } catch (const std::invalid_argument& e) {
           throw ConfigError(e.what());
         }
         c.discovery.basename = basename;
         c.discovery.refresh = refresh;
       }},
      {"basename", "ALIVE", "", "alive part of discovered node names [the alive part of --node]",
       [](ProxyConfig& c, std::string_view v) {
         if (!valid_alive(v)) throw ConfigError("'" + std::string(v) + "' is not a node alive name");
         c.discovery.basename = v;
       }},
      {"dns-server", "IP[:PORT],...", "", "DNS servers for discovery and for dialling names [/etc/resolv.conf]",
       [](ProxyConfig& c, std::string_view v) {
         for (std::size_t start = 0; start <= v.size();) {
           auto end = v.find(',', start);
           if (end == std::string_view::npos) end = v.size();
           const auto item = v.substr(start, end - start);
           boost::system::error_code ec;
           ip::make_address(std::string(item), ec);
           if (ec && !parse_endpoint(item))
             throw ConfigError("'" + std::string(item) + "' is not IP, IP:PORT or [IPv6]:PORT");
           start = end + 1;
         }
         c.dns_server = v;
       }},
      {"refresh", "DURATION", "5s", "discovery interval (each one jittered by +-20%)",
       [](ProxyConfig& c, std::string_view v) { c.discovery.refresh = duration_option(v); }},
      {"handshake-rate", "N", "20", "new connections per second accepted from one source address (0: no limit)",
       [](ProxyConfig& c, std::string_view v) {
         double r = -1;
         auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), r);
         if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || r < 0)
           throw ConfigError("'" + std::string(v) + "' is not a rate such as 20 or 0.5");
         c.handshake_rate = r;
       }},
      {"check-source", "true|false", "true", "refuse an IP-named peer whose tunnel comes from another address",
       [](ProxyConfig& c, std::string_view v) { c.check_source = parse_flag(v); }},
      {"allow-peer", "URI", "", "accept only peers whose cert has this URI SAN (SPIFFE ID; 'PATH/*' for all under PATH); repeatable",
       [](ProxyConfig& c, std::string_view v) {
         if (v.find("://") == std::string_view::npos)
           throw ConfigError("'" + std::string(v) + "' is not a URI such as spiffe://cluster.local/ns/shop/sa/app");
         if (const auto star = v.find('*'); star != std::string_view::npos && star + 1 != v.size())
           throw ConfigError("'" + std::string(v) + "': '*' may only end the URI (spiffe://cluster.local/ns/shop/*)");
         c.allow_peers.emplace_back(v);
       }},
      {"drain-timeout", "DURATION", "10s", "on SIGTERM, how long tunnels may finish before they are closed",
       [](ProxyConfig& c, std::string_view v) { c.drain_timeout = duration_option(v); }},
      {"log-format", "text|json", "text", "one line per event: key=value text, or one JSON object",
       [](ProxyConfig& c, std::string_view v) {
         if (v != "text" && v != "json") throw ConfigError("'" + std::string(v) + "' is not text or json");
         c.log_json = v == "json";
       }},
      {"log-level", "LEVEL", "info", "debug, info, warn or error",
       [](ProxyConfig& c, std::string_view v) {
         auto l = parse_log_level(v);
         if (!l) throw ConfigError("'" + std::string(v) + "' is not debug, info, warn or error");
         c.log_level = *l;
       }},
  };
}

}  // namespace

std::optional<ip::tcp::endpoint> parse_endpoint(std::string_view text) {
  std::string_view host, port;
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6 needs brackets
  }
  boost::system::error_code ec;
  const auto addr = ip::make_address(std::string(host), ec);
  const auto p = parse_port(port);
  if (ec || !p) return std::nullopt;
  return ip::tcp::endpoint(addr, *p);
}

const std::vector<OptionSpec>& proxy_options() {
  static const std::vector<OptionSpec> options = make_options();  // immutable table
  return options;
}

std::string proxy_usage() {
  return options_usage(proxy_options(),
                       "usage: distls proxy --node ALIVE@HOST --cert-source file --cert F --key F --trust-bundle F [options]\n"
                       "       distls proxy --node ALIVE@HOST --cert-source local-ca --ca-cert F --ca-key F [options]\n");
}

ProxyConfig parse_proxy_config(const std::vector<std::string>& args, const EnvLookup& env) {
  ProxyConfig c;
  const auto seen = apply_options(c, proxy_options(), args, env, "proxy");
  const bool have_node = seen.contains("node");
  if (!have_node) throw ConfigError("--node: required (the local node's full name, e.g. app@10.0.0.5)");
  if (c.discovery.basename.empty()) c.discovery.basename = c.node.alive;
  auto only_with = [&](bool set, const char* option, const char* source) {
    if (set && c.cert_source != source)
      throw ConfigError(std::string("--") + option + ": only used with --cert-source " + source);
  };
  only_with(!c.cert_file.empty(), "cert", "file");
  only_with(!c.key_file.empty(), "key", "file");
  only_with(!c.ca_cert_file.empty(), "ca-cert", "local-ca");
  only_with(!c.ca_key_file.empty(), "ca-key", "local-ca");
  only_with(!c.kubeconfig.empty(), "kubeconfig", "k8s-csr");
  only_with(!c.trust_domain.empty(), "trust-domain", "k8s-csr");
  if (c.cert_source == "file") {
    if (c.cert_file.empty()) throw ConfigError("--cert: required with --cert-source file");
    if (c.key_file.empty()) throw ConfigError("--key: required with --cert-source file");
    if (c.trust_bundle_file.empty()) throw ConfigError("--trust-bundle: required with --cert-source file");
  } else if (c.cert_source == "k8s-csr") {
    if (c.trust_bundle_file.empty())
      throw ConfigError("--trust-bundle: required with --cert-source k8s-csr (the CA bundle peers chain to)");
    if (c.cert_ttl < std::chrono::minutes(10))
      throw ConfigError("--cert-ttl: at least 10m with --cert-source k8s-csr (the API's minimum)");
    if (!c.trust_domain.empty() && c.service_account.empty())
      throw ConfigError("--service-account: required with --trust-domain (from the downward API: spec.serviceAccountName)");
  } else if (c.cert_source == "local-ca") {
    if (c.ca_cert_file.empty()) throw ConfigError("--ca-cert: required with --cert-source local-ca");
    if (c.ca_key_file.empty()) throw ConfigError("--ca-key: required with --cert-source local-ca");
    if (c.trust_bundle_file.empty()) c.trust_bundle_file = c.ca_cert_file;
  }
  return c;
}

}  // namespace distls
