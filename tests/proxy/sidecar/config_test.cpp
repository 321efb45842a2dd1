#include "distls/sidecar/config.hpp"

#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace distls {
namespace {

const std::vector<std::string> kRequired{"--node", "app@10.0.0.5", "--cert", "c.pem", "--key", "k.pem",
                                         "--trust-bundle", "ca.pem"};

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<std::string> with(std::vector<std::string> extra) {
  auto a = kRequired;
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::string error_of(const std::vector<std::string>& args, const EnvLookup& env = env_of({})) {
  try {
    parse_proxy_config(args, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(Config, Defaults) {
  auto c = parse_proxy_config(kRequired, env_of({}));
  EXPECT_EQ(c.node.full(), "app@10.0.0.5");
  EXPECT_EQ(c.listen.port(), 4370);
  EXPECT_TRUE(c.listen.address().is_unspecified());
  EXPECT_EQ(c.epmd.address().to_string(), "127.0.0.1");
  EXPECT_EQ(c.epmd.port(), 4369);
  EXPECT_EQ(c.peer_port, 4370);
  ASSERT_TRUE(c.admin);
  EXPECT_EQ(c.admin->port(), 9901);
  EXPECT_EQ(c.tls.min_version, TLS1_3_VERSION);
  EXPECT_EQ(c.handshake_timeout, std::chrono::seconds(10));
}

TEST(Config, OptionsAndEqualsForm) {
  auto c = parse_proxy_config(with({"--listen=[::1]:5000", "--epmd", "127.0.0.1:14369", "--admin", "off",
                                    "--tls-min", "1.2", "--handshake-timeout", "2s", "--peer-port", "4444",
                                    "--max-connections", "10", "--peer-idle-timeout", "1m"}),
                              env_of({}));
  EXPECT_EQ(c.listen.address().to_string(), "::1");
  EXPECT_EQ(c.listen.port(), 5000);
  EXPECT_EQ(c.epmd.port(), 14369);
  EXPECT_FALSE(c.admin);
  EXPECT_EQ(c.tls.min_version, TLS1_2_VERSION);
  EXPECT_EQ(c.handshake_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.peer_port, 4444);
  EXPECT_EQ(c.max_connections, 10u);
  EXPECT_EQ(c.peer_idle_timeout, std::chrono::seconds(60));
}

TEST(Config, LocalCa) {
  auto c = parse_proxy_config({"--node", "app@10.0.0.5", "--cert-source", "local-ca", "--ca-cert", "ca.crt",
                               "--ca-key", "ca.key", "--cert-ttl", "10m", "--uri-san", "spiffe://td/ns/a/sa/b",
                               "--uri-san", "spiffe://td/x"},
                              env_of({}));
  EXPECT_EQ(c.cert_source, "local-ca");
  EXPECT_EQ(c.trust_bundle_file, "ca.crt");  // trusts its own CA unless told otherwise
  EXPECT_EQ(c.cert_ttl, std::chrono::minutes(10));
  EXPECT_EQ(c.uri_sans, (std::vector<std::string>{"spiffe://td/ns/a/sa/b", "spiffe://td/x"}));
  EXPECT_EQ(error_of({"--node", "app@h", "--cert-source", "local-ca", "--ca-cert", "c", "--ca-key", "k",
                      "--cert-ttl", "5s"}),
            "--cert-ttl: '5s' is below 10s");
}

TEST(Config, K8sCsr) {
  auto c = parse_proxy_config({"--node", "app@10.0.0.5", "--cert-source", "k8s-csr", "--trust-bundle", "t.pem",
                               "--trust-domain", "cluster.local", "--service-account", "app", "--cert-ttl", "1h"},
                              env_of({}));
  EXPECT_EQ(c.signer_name, "distls.io/erlang-dist");
  EXPECT_EQ(c.trust_domain, "cluster.local");
  EXPECT_EQ(error_of({"--node", "app@h", "--cert-source", "k8s-csr", "--trust-bundle", "t", "--cert-ttl", "5m"}),
            "--cert-ttl: at least 10m with --cert-source k8s-csr (the API's minimum)");
  EXPECT_EQ(error_of({"--node", "app@h", "--cert-source", "k8s-csr", "--trust-bundle", "t", "--trust-domain", "td"}),
            "--service-account: required with --trust-domain (from the downward API: spec.serviceAccountName)");
  EXPECT_EQ(error_of({"--node", "app@h", "--cert-source", "k8s-csr"}),
            "--trust-bundle: required with --cert-source k8s-csr (the CA bundle peers chain to)");
  EXPECT_EQ(error_of({"--node", "app@h", "--cert-source", "k8s-csr", "--trust-bundle", "t", "--signer-name", "x"}),
            "--signer-name: 'x' is not DOMAIN/PATH such as distls.io/erlang-dist");
  EXPECT_EQ(error_of(with({"--kubeconfig", "k"})), "--kubeconfig: only used with --cert-source k8s-csr");
}

TEST(Config, EnvironmentAndPrecedence) {
  auto env = env_of({{"DISTLS_NODE", "app@10.0.0.9"}, {"DISTLS_CERT", "c"}, {"DISTLS_KEY", "k"},
                     {"DISTLS_TRUST_BUNDLE", "t"}, {"DISTLS_PEER_PORT", "5555"}});
  auto c = parse_proxy_config({}, env);
  EXPECT_EQ(c.node.full(), "app@10.0.0.9");
  EXPECT_EQ(c.peer_port, 5555);
  c = parse_proxy_config({"--peer-port", "6666"}, env);
  EXPECT_EQ(c.peer_port, 6666);
  EXPECT_EQ(env_name("handshake-timeout"), "DISTLS_HANDSHAKE_TIMEOUT");
  EXPECT_EQ(error_of({}, env_of({{"DISTLS_NODE", "app@10.0.0.9"}, {"DISTLS_CERT", "c"}, {"DISTLS_KEY", "k"},
                                 {"DISTLS_TRUST_BUNDLE", "t"}, {"DISTLS_LISTEN", "nope"}})),
            "--listen: 'nope' is not IP:PORT (IPv6 as [addr]:port)");
}

TEST(Config, ErrorsNameTheOption) {
  EXPECT_EQ(error_of({"--cert", "c", "--key", "k", "--trust-bundle", "t"}),
            "--node: required (the local node's full name, e.g. app@10.0.0.5)");
  EXPECT_EQ(error_of({"--node", "app@h", "--key", "k", "--trust-bundle", "t"}), "--cert: required with --cert-source file");
  EXPECT_EQ(error_of(with({"--bogus", "1"})), "--bogus: unknown option (see distls proxy --help)");
  EXPECT_EQ(error_of(with({"--listen"})), "--listen: needs a value");
  EXPECT_EQ(error_of(with({"stray"})), "unexpected argument 'stray'");
  EXPECT_EQ(error_of(with({"--node", "app"})), "--node: 'app' is not a full node name such as app@10.0.0.5");
  EXPECT_EQ(error_of(with({"--listen", "1.2.3.4"})), "--listen: '1.2.3.4' is not IP:PORT (IPv6 as [addr]:port)");
  EXPECT_EQ(error_of(with({"--listen", "::1:80"})), "--listen: '::1:80' is not IP:PORT (IPv6 as [addr]:port)");
  EXPECT_EQ(error_of(with({"--listen", "1.2.3.4:65536"})), "--listen: '1.2.3.4:65536' is not IP:PORT (IPv6 as [addr]:port)");
  EXPECT_EQ(error_of(with({"--peer-port", "0"})), "--peer-port: '0' is not a port (1-65535)");
  EXPECT_EQ(error_of(with({"--tls-min", "1.1"})), "--tls-min: '1.1' is not 1.2 or 1.3");
  EXPECT_EQ(error_of(with({"--handshake-timeout", "10"})),
            "--handshake-timeout: '10' is not a duration such as 30s, 10m or 1h");
  EXPECT_EQ(error_of(with({"--max-connections", "-1"})), "--max-connections: '-1' is not a positive number");
  EXPECT_EQ(error_of(with({"--cert-source", "vault"})),
            "--cert-source: 'vault' is not a cert source (file, local-ca, k8s-csr)");
  EXPECT_EQ(error_of(with({"--ca-key", "k"})), "--ca-key: only used with --cert-source local-ca");
  EXPECT_EQ(error_of({"--node", "app@h", "--cert-source", "local-ca", "--ca-cert", "c"}),
            "--ca-key: required with --cert-source local-ca");
  EXPECT_EQ(error_of(with({"--uri-san", "app"})), "--uri-san: 'app' is not a URI such as spiffe://td/ns/app/sa/app");
  EXPECT_EQ(error_of(with({"--log-level", "loud"})), "--log-level: 'loud' is not debug, info, warn or error");
}

TEST(Config, HelpAndDocsListEveryOption) {
  const auto usage = proxy_usage();
  std::ifstream docs(std::string(DISTLS_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(docs) << "docs/configuration.md is missing";
  std::stringstream ss;
  ss << docs.rdbuf();
  for (const auto& o : proxy_options()) {
    const std::string flag = "--" + std::string(o.name);
    EXPECT_NE(usage.find(flag + " "), std::string::npos) << flag;
    EXPECT_NE(usage.find(env_name(o.name)), std::string::npos) << flag;
    EXPECT_NE(ss.str().find("`" + flag), std::string::npos) << flag << " is not in docs/configuration.md";
    EXPECT_NE(ss.str().find(env_name(o.name)), std::string::npos) << env_name(o.name) << " is not documented";
  }
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

TEST(Config, OperatorOptions) {
  auto c = parse_proxy_config({"--node", "app@10.0.0.5", "--cert", "c", "--key", "k", "--trust-bundle", "t",
                               "--handshake-rate", "0.5", "--allow-peer", "spiffe://td/ns/a/*", "--allow-peer",
                               "spiffe://td/ns/b/sa/c", "--drain-timeout", "30s", "--log-format", "json"},
                              [](const std::string&) { return std::optional<std::string>(); });
  EXPECT_DOUBLE_EQ(c.handshake_rate, 0.5);
  EXPECT_EQ(c.allow_peers.size(), 2u);
  EXPECT_EQ(c.drain_timeout, std::chrono::seconds(30));
  EXPECT_TRUE(c.log_json);
}

}  // namespace
}  // namespace distls

namespace distls {
namespace {

TEST(Config, IdentityAndExhaustionOptions) {
  const EnvLookup none = [](const std::string&) { return std::optional<std::string>(); };
  const std::vector<std::string> base{"--node", "app@10.0.0.5", "--cert", "c", "--key", "k", "--trust-bundle", "t"};
  auto with = [&](std::vector<std::string> more) {
    auto args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  auto c = parse_proxy_config(base, none);
  EXPECT_TRUE(c.check_source) << "on unless turned off";
  EXPECT_EQ(c.admin_expose, AdminExposure::probes);
  EXPECT_EQ(c.max_outbound, 4096u);
  c = parse_proxy_config(with({"--check-source", "false", "--max-outbound", "64", "--admin-expose", "metrics"}), none);
  EXPECT_FALSE(c.check_source);
  EXPECT_EQ(c.max_outbound, 64u);
  EXPECT_EQ(c.admin_expose, AdminExposure::metrics);
  auto error_of = [&](std::vector<std::string> more) -> std::string {
    try {
      parse_proxy_config(with(std::move(more)), none);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of({"--allow-peer", "spiffe://td/ns/*/sa/app"}),
            "--allow-peer: 'spiffe://td/ns/*/sa/app': '*' may only end the URI (spiffe://cluster.local/ns/shop/*)");
  EXPECT_EQ(error_of({"--admin-expose", "everything"}), "--admin-expose: 'everything' is not probes, metrics or all");
  EXPECT_EQ(error_of({"--max-outbound", "0"}), "--max-outbound: '0' is not a positive number");
  EXPECT_EQ(error_of({"--check-source", "maybe"}), "--check-source: 'maybe' is not true or false");
  EXPECT_EQ(c.threads, 0u) << "auto unless given";
  EXPECT_EQ(parse_proxy_config(with({"--threads", "3"}), none).threads, 3u);
  EXPECT_EQ(parse_proxy_config(with({"--threads", "2", "--threads", "auto"}), none).threads, 0u);
  EXPECT_EQ(error_of({"--threads", "0"}), "--threads: '0' is not a positive number");
  EXPECT_EQ(error_of({"--threads", "1000"}), "--threads: '1000' is more than 256 threads");
}

}  // namespace
}  // namespace distls
