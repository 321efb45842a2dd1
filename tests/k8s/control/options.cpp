#include "tests/k8s/control/options.hpp"

#include <charconv>

#include "distls/util/duration.hpp"

namespace distls::k8s_double {

std::string usage() {
  return R"(k8s_api_double: a Kubernetes API server test double (CertificateSigningRequests, Pods, RBAC, ...)

usage: k8s_api_double --state-dir DIR [options]

  --state-dir DIR            where ca.crt, kubeconfig, admin-token and, last, port are written
  --listen ADDR:PORT         HTTPS listen address (default 127.0.0.1:0, a free port)
  --token TOKEN=USER[:G1,G2] a bearer token for USER with extra groups (repeatable); a USER
                             system:serviceaccount:NS:SA also gets its service-account groups
  --rbac FILE                a JSON List (or one object) of Roles, ClusterRoles, RoleBindings and
                             ClusterRoleBindings to load at start (repeatable)
  --admin-token TOKEN        the admin token (user "admin", group system:masters); default random
  --tls-cert F --tls-key F --tls-ca F
                             serve this cert instead of a generated one (all three together)
  --san NAME                 one more DNS name or IP for the generated serving cert (repeatable)
  --history N                watch events kept before compaction (default 500)
  --watch-timeout DURATION   watch length when the client gives no timeoutSeconds (default 30m)
  --bookmark-interval DURATION
                             BOOKMARK period for allowWatchBookmarks watches (default 60s)
  --log-level debug|info|warn|error
  --help

See tests/k8s/README.md for the endpoints and the /_double/ control API.
)";
}

ParsedOptions parse_options(const std::vector<std::string>& args) {
  ParsedOptions out;
  Options o;
  const auto fail = [&](std::string why) {
    out.error = std::move(why);
    return out;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.help = true;
      return out;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) return fail(name + ": needs a value (see --help)");
      value = args[++i];
    }
    if (name == "--state-dir") {
      o.state_dir = value;
    } else if (name == "--listen") {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos) return fail("--listen " + value + ": expected ADDR:PORT");
      std::string host = value.substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      unsigned port = 0;
      const std::string p = value.substr(colon + 1);
      const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
      if (ec != std::errc() || end != p.data() + p.size() || port > 65535)
        return fail("--listen " + value + ": bad port");
      boost::system::error_code aec;
      const auto addr = boost::asio::ip::make_address(host, aec);
      if (aec) return fail("--listen " + value + ": bad address");
      o.listen = {addr, static_cast<unsigned short>(port)};
    } else if (name == "--token") {
      auto spec = parse_token_spec(value);
      if (!spec) return fail("--token " + value + ": expected TOKEN=USER[:GROUP1,GROUP2]");
      o.tokens.push_back(std::move(*spec));
    } else if (name == "--rbac") {
      o.rbac_files.emplace_back(value);
    } else if (name == "--admin-token") {
      if (value.empty()) return fail("--admin-token: empty");
      o.admin_token = value;
    } else if (name == "--tls-cert") {
      o.tls_cert = value;
    } else if (name == "--tls-key") {
      o.tls_key = value;
    } else if (name == "--tls-ca") {
      o.tls_ca = value;
    } else if (name == "--san") {
      o.sans.push_back(value);
    } else if (name == "--history") {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n == 0)
        return fail("--history " + value + ": a positive number of events");
      o.history = n;
    } else if (name == "--watch-timeout" || name == "--bookmark-interval") {
      const auto d = parse_duration(value);
      if (!d) return fail(name + " " + value + ": a duration like 30s, 10m, 1h");
      (name == "--watch-timeout" ? o.watch_timeout : o.bookmark_interval) = *d;
    } else if (name == "--log-level") {
      const auto l = parse_log_level(value);
      if (!l) return fail("--log-level " + value + ": one of debug, info, warn, error");
      o.log_level = *l;
    } else {
      return fail(name + ": unknown option (see --help)");
    }
  }
  if (o.state_dir.empty()) return fail("--state-dir: required");
  const int tls_files = o.tls_cert.has_value() + o.tls_key.has_value() + o.tls_ca.has_value();
  if (tls_files != 0 && tls_files != 3) return fail("--tls-cert, --tls-key and --tls-ca go together");
  out.options = std::move(o);
  return out;
}

}  // namespace distls::k8s_double
