#include "distls/k8s/kubeconfig.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>
#include <system_error>
#include <vector>

#include <arpa/inet.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "distls/util/base64.hpp"
#include "distls/x509/ossl.hpp"
#include "distls/x509/pem.hpp"
#include "distls/k8s/yaml.hpp"

namespace distls::k8s {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string trim(std::string_view s) {
  const auto ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(ws) - b + 1));
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Host names end up in Host headers, SNI and log lines, so anything but a DNS name or an
// IP address (e.g. a stray CR/LF or '/') is refused rather than passed on.
bool valid_host(const std::string& host) {
  if (host.find(':') != std::string::npos) {
    in6_addr a{};
    return inet_pton(AF_INET6, host.c_str(), &a) == 1;
  }
  return !host.empty() && host.size() <= 253 && host.front() != '.' && host.front() != '-' &&
         std::all_of(host.begin(), host.end(),
                     [](char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_'; });
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), digit)) return std::nullopt;
  const unsigned long v = std::stoul(std::string(s));
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// Namespaces go into request paths: a DNS-1123 label, as Kubernetes itself requires.
bool valid_namespace(const std::string& ns) {
  return !ns.empty() && ns.size() <= 63 && is_alnum(ns.front()) && is_alnum(ns.back()) &&
         std::all_of(ns.begin(), ns.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

// A bearer token goes verbatim into an Authorization header: visible ASCII only, so that
// a token file with a stray CR/LF cannot smuggle in a header line.
bool valid_token(const std::string& t) {
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// kubectl writes Go's base64.StdEncoding on one line, but Go's decoder also skips line
// breaks, so hand-edited files often hold wrapped `base64` output.
std::optional<std::string> decode_data(std::string_view in) {
  std::string joined;
  std::copy_if(in.begin(), in.end(), std::back_inserter(joined), [](char c) { return c != '\r' && c != '\n'; });
  return base64_decode(joined);
}

struct Server {
  std::string host;
  std::uint16_t port = 443;
  std::string base_path;
};

// Parses "https://host[:port][/path]"; returns the reason it is unusable, or "".
std::string parse_server(std::string_view url, Server& out) {
  const auto sep = url.find("://");
  std::string scheme(url.substr(0, sep == std::string_view::npos ? 0 : sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  if (scheme == "http") {
    return "plain http:// is not supported; distls talks to the API server over https:// only";
  }
  if (scheme != "https") return "must be an https:// URL, not \"" + std::string(url) + "\"";
  const std::string_view rest = url.substr(sep + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  const std::string_view path = rest.substr(authority.size());
  if (path.find_first_of("?#") != std::string_view::npos) {
    return "a query or fragment in the server URL is not supported";
  }
  if (authority.find('@') != std::string_view::npos) return "credentials in the server URL are not supported";
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "unbalanced '[' in the server URL";
    out.host = authority.substr(1, close - 1);
    if (out.host.find(':') == std::string::npos || !valid_host(out.host)) {
      return "\"" + out.host + "\" in brackets is not an IPv6 address";
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "unexpected text after ']' in the server URL";
      port = after.substr(1);
      if (port.empty()) return "empty port in the server URL";
    }
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos) {
      return "an IPv6 address in a URL must be in brackets, as in https://[fd00::1]:6443";
    }
    out.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return "empty port in the server URL";
    }
    if (!valid_host(out.host)) return "\"" + out.host + "\" is not a host name or IP address";
  }
  if (!port.empty()) {
    const auto p = parse_port(port);
    if (!p) return "port \"" + std::string(port) + "\" is not a number from 1 to 65535";
    out.port = *p;
  }
  // The base path prefixes every request line, so only URL path characters may pass.
  const bool path_ok = std::all_of(path.begin(), path.end(), [](char c) {
    return is_alnum(c) || std::string_view("/-._~!$&'()*+,;=:@%").find(c) != std::string_view::npos;
  });
  if (!path_ok) return "the server URL's path has characters that need escaping";
  out.base_path = path;
  while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  return {};
}

std::string read_file_or(const fs::path& path, const std::string& what) {
  try {
    return pem::read_file(path);
  } catch (const ossl::Error& e) {
    throw K8sConfigError("cannot read " + what + " " + e.what());
  }
}

std::string read_token_file(const fs::path& path) {
  std::string t = trim(read_file_or(path, "token file"));
  if (t.empty()) throw K8sConfigError("token file " + path.string() + " is empty");
  if (!valid_token(t)) {
    throw K8sConfigError("token file " + path.string() +
                         " holds whitespace or control characters inside the token");
  }
  return t;
}

// Field access with kubectl's semantics (absent, null and "" all mean unset) and errors
// that name the file and the field.
class Kubeconfig {
 public:
  explicit Kubeconfig(fs::path file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& why) const {
    throw K8sConfigError("kubeconfig " + file_.string() + ": " + field + ": " + why);
  }
  [[noreturn]] void fail_with(const std::string& message) const {
    throw K8sConfigError("kubeconfig " + file_.string() + ": " + message);
  }

  static std::string field(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  const json::value* get(const json::object& obj, std::string_view key) const {
    const json::value* v = obj.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }

  std::string string(const json::object& obj, std::string_view key, const std::string& path) const {
    const json::value* v = get(obj, key);
    if (v == nullptr) return {};
    // A number or boolean here would be a kubectl error too; quoting says what was meant.
    if (!v->is_string()) fail(field(path, key), "must be a string (quote it)");
    return std::string(v->get_string());
  }

  bool boolean(const json::object& obj, std::string_view key, const std::string& path) const {
    const json::value* v = get(obj, key);
    if (v == nullptr) return false;
    if (!v->is_bool()) fail(field(path, key), "must be true or false");
    return v->get_bool();
  }

  const json::object* object(const json::object& obj, std::string_view key, const std::string& path) const {
    const json::value* v = get(obj, key);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) fail(field(path, key), "must be a mapping");
    return &v->get_object();
  }

  // kubeconfig lists are [{name: N, <kind>: {...}}]. Returns the entry named `name`.
  const json::object& entry(const json::object& root, std::string_view list, const std::string& name) const {
    const std::string l(list);
    const json::value* v = get(root, list);
    if (v != nullptr && !v->is_array()) fail(l, "must be a list");
    const json::object* found = nullptr;
    std::string names;  // for the error when `name` is absent: the usual cause is a typo
    std::size_t listed = 0;
    if (v != nullptr) {
      const json::array& arr = v->get_array();
      for (std::size_t i = 0; i < arr.size(); ++i) {
        const std::string at = l + "[" + std::to_string(i) + "]";
        if (!arr[i].is_object()) fail(at, "must be a mapping with a name");
        const std::string n = string(arr[i].get_object(), "name", at);
        if (listed++ < 10) names += (names.empty() ? "" : ", ") + n;
        if (listed == 11) names += ", ...";
        if (n != name) continue;
        if (found != nullptr) fail(l, "two entries are named \"" + name + "\"");
        found = &arr[i].get_object();
      }
    }
    if (found == nullptr) {
      fail(l, "no entry named \"" + name + "\"" +
                  (names.empty() ? " (the list is empty)" : " (there are: " + names + ")"));
    }
    return *found;
  }

  fs::path resolve(const std::string& p) const {
    const fs::path path(p);
    return path.is_relative() ? file_.parent_path() / path : path;
  }

  // PEM from `key`-data (base64) or from the file named by `key`, whichever is set; "" if
  // neither. `source` names where it came from, for errors about its contents.
  std::string pem_from(const json::object& obj, const std::string& key, const std::string& path,
                       std::string& source) const {
    const std::string file = string(obj, key, path);
    const std::string data = string(obj, key + "-data", path);
    if (!file.empty() && !data.empty()) {
      fail(path, key + " and " + key + "-data are both set; keep one");
    }
    if (!data.empty()) {
      source = path + "." + key + "-data";
      auto pem = decode_data(data);
      if (!pem) fail(source, "is not valid base64");
      return std::move(*pem);
    }
    if (file.empty()) return {};
    const fs::path p = resolve(file);
    source = path + "." + key + " (" + p.string() + ")";
    try {
      return pem::read_file(p);
    } catch (const ossl::Error& e) {
      fail(path + "." + key, std::string("cannot read ") + e.what());
    }
  }

 private:
  fs::path file_;
};

void check_certs(const Kubeconfig& k, const std::string& pem, const std::string& source) {
  try {
    pem::read_certs(pem, source);
  } catch (const ossl::Error& e) {
    k.fail_with(e.what());
  }
}

void load_cluster(const Kubeconfig& k, const json::object& root, const std::string& name, Connection& c) {
  const std::string entry = "clusters[\"" + name + "\"]";
  const std::string path = entry + ".cluster";
  const json::object* cluster = k.object(k.entry(root, "clusters", name), "cluster", entry);
  if (cluster == nullptr) k.fail(path, "missing");

  const std::string server = k.string(*cluster, "server", path);
  if (server.empty()) k.fail(path + ".server", "missing");
  Server s;
  if (const std::string why = parse_server(server, s); !why.empty()) k.fail(path + ".server", why);
  c.host = s.host;
  c.port = s.port;
  c.base_path = s.base_path;

  if (k.get(*cluster, "proxy-url") != nullptr) {
    k.fail(path + ".proxy-url", "not supported; distls connects to the API server directly");
  }
  c.insecure_skip_verify = k.boolean(*cluster, "insecure-skip-tls-verify", path);
  std::string ca_source;
  c.ca_pem = k.pem_from(*cluster, "certificate-authority", path, ca_source);
  // client-go refuses this combination too: a CA that is then not checked is a mistake.
  if (c.insecure_skip_verify && !c.ca_pem.empty()) {
    k.fail(path, "insecure-skip-tls-verify and a certificate authority are both set; keep one");
  }
  if (!c.ca_pem.empty()) check_certs(k, c.ca_pem, ca_source);

  c.tls_server_name = k.string(*cluster, "tls-server-name", path);
  if (c.tls_server_name.empty()) {
    c.tls_server_name = c.host;
  } else if (!valid_host(c.tls_server_name)) {
    k.fail(path + ".tls-server-name", "is not a host name or IP address");
  }
}

void load_user(const Kubeconfig& k, const json::object& root, const std::string& name, Connection& c) {
  const std::string entry = "users[\"" + name + "\"]";
  const std::string path = entry + ".user";
  const json::object no_settings;
  const json::object* user = k.object(k.entry(root, "users", name), "user", entry);
  if (user == nullptr) user = &no_settings;

  const std::string plugin_help =
      "not supported; use a token or a client certificate (for example a service account token)";
  if (k.get(*user, "exec") != nullptr) k.fail(path + ".exec", "exec credential plugins are " + plugin_help);
  if (k.get(*user, "auth-provider") != nullptr) {
    k.fail(path + ".auth-provider", "auth-provider plugins are " + plugin_help);
  }
  for (const char* f : {"username", "password"}) {
    if (k.get(*user, f) != nullptr) k.fail(path + "." + f, "basic authentication is not supported");
  }
  // Silently acting as ourselves instead of the impersonated identity would be worse than failing.
  for (const char* f : {"as", "as-uid", "as-groups", "as-user-extra"}) {
    if (k.get(*user, f) != nullptr) k.fail(path + "." + f, "impersonation is not supported");
  }

  c.token = k.string(*user, "token", path);
  const std::string token_file = k.string(*user, "tokenFile", path);
  if (!c.token.empty() && !token_file.empty()) k.fail(path, "token and tokenFile are both set; keep one");
  if (!c.token.empty() && !valid_token(c.token)) {
    k.fail(path + ".token", "holds whitespace or control characters");
  }
  if (!token_file.empty()) {
    c.token_file = k.resolve(token_file);
    // Read once now, so that a wrong path fails at startup rather than at the first request.
    try {
      read_token_file(c.token_file);
    } catch (const K8sConfigError& e) {
      k.fail(path + ".tokenFile", e.what());
    }
  }

  std::string cert_source, key_source;
  c.client_cert_pem = k.pem_from(*user, "client-certificate", path, cert_source);
  c.client_key_pem = k.pem_from(*user, "client-key", path, key_source);
  if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
    k.fail(path, c.client_cert_pem.empty() ? "client-key is set but client-certificate is not"
                                           : "client-certificate is set but client-key is not");
  }
  if (c.client_cert_pem.empty()) return;
  try {
    const auto certs = pem::read_certs(c.client_cert_pem, cert_source);
    const ossl::PKey key = pem::read_private_key(c.client_key_pem, key_source);
    if (X509_check_private_key(certs.front().get(), key.get()) != 1) {
      ossl::drain_errors();
      k.fail(path, "client-key does not belong to client-certificate");
    }
  } catch (const ossl::Error& e) {
    k.fail_with(e.what());
  }
}

[[noreturn]] void in_cluster_fail(const std::string& why) {
  throw K8sConfigError("in-cluster configuration: " + why);
}

}  // namespace

std::string Connection::authority() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Connection::describe() const {
  std::string out = "https://" + authority() + base_path;
  if (!origin.empty()) out += " (" + origin + ")";
  return out;
}

Connection load_kubeconfig(const fs::path& file, const std::string& context) {
  const Kubeconfig k(file);
  const std::string text = read_file_or(file, "kubeconfig");
  json::value doc;
  try {
    doc = parse_yaml(text);
  } catch (const YamlError& e) {
    throw K8sConfigError("kubeconfig " + file.string() + ": " + e.what());
  }
  if (doc.is_null()) throw K8sConfigError("kubeconfig " + file.string() + " is empty");
  if (!doc.is_object()) {
    throw K8sConfigError("kubeconfig " + file.string() + ": not a mapping of settings (kind: Config)");
  }
  const json::object& root = doc.get_object();
  // Catches pointing --kubeconfig at some other manifest, which would otherwise fail later
  // with a puzzling "no entry named" error.
  if (const std::string kind = k.string(root, "kind", ""); !kind.empty() && kind != "Config") {
    k.fail("kind", "is \"" + kind + "\", not Config: this is not a kubeconfig");
  }

  const std::string ctx_name = context.empty() ? k.string(root, "current-context", "") : context;
  if (ctx_name.empty()) k.fail("current-context", "not set, and no context was chosen");
  const std::string ctx_entry = "contexts[\"" + ctx_name + "\"]";
  const std::string ctx_path = ctx_entry + ".context";
  const json::object* ctx = k.object(k.entry(root, "contexts", ctx_name), "context", ctx_entry);
  if (ctx == nullptr) k.fail(ctx_path, "missing");

  const std::string cluster = k.string(*ctx, "cluster", ctx_path);
  if (cluster.empty()) k.fail(ctx_path + ".cluster", "missing");
  const std::string user = k.string(*ctx, "user", ctx_path);
  const std::string ns = k.string(*ctx, "namespace", ctx_path);
  if (!ns.empty() && !valid_namespace(ns)) {
    k.fail(ctx_path + ".namespace", "\"" + ns + "\" is not a valid namespace name");
  }

  Connection c;
  load_cluster(k, root, cluster, c);
  // A context without a user is anonymous, as in kubectl; the API server will say 401/403.
  if (!user.empty()) load_user(k, root, user, c);
  if (!ns.empty()) c.namespace_name = ns;
  c.origin =
      "kubeconfig " + file.string() + ", context " + ctx_name + ", user " + (user.empty() ? "(none)" : user);
  return c;
}

Connection load_in_cluster(const std::function<std::optional<std::string>(const std::string&)>& env,
                           const fs::path& dir) {
  const std::optional<std::string> host = env("KUBERNETES_SERVICE_HOST");
  if (!host || host->empty()) {
    in_cluster_fail("not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set; use --kubeconfig");
  }
  const std::optional<std::string> port = env("KUBERNETES_SERVICE_PORT");
  if (!port || port->empty()) {
    in_cluster_fail("KUBERNETES_SERVICE_HOST is set but KUBERNETES_SERVICE_PORT is not");
  }

  Connection c;
  c.host = *host;
  if (c.host.size() > 2 && c.host.front() == '[' && c.host.back() == ']') {
    c.host = c.host.substr(1, c.host.size() - 2);
  }
  if (!valid_host(c.host)) {
    in_cluster_fail("KUBERNETES_SERVICE_HOST \"" + *host + "\" is not a host name or IP address");
  }
  const auto p = parse_port(*port);
  if (!p) in_cluster_fail("KUBERNETES_SERVICE_PORT \"" + *port + "\" is not a port number");
  c.port = *p;
  c.tls_server_name = c.host;

  c.token_file = dir / "token";
  std::error_code ec;
  if (!fs::exists(c.token_file, ec)) {
    in_cluster_fail("no service account token at " + c.token_file.string() +
                    " (is automountServiceAccountToken false for this pod?)");
  }
  // Read once now, so that an unreadable token fails at startup rather than at the first request.
  try {
    read_token_file(c.token_file);
  } catch (const K8sConfigError& e) {
    in_cluster_fail(e.what());
  }
  c.ca_pem = read_file_or(dir / "ca.crt", "the cluster CA");
  try {
    pem::read_certs(c.ca_pem, (dir / "ca.crt").string());
  } catch (const ossl::Error& e) {
    in_cluster_fail(e.what());
  }

  std::string ns;
  if (const auto v = env("POD_NAMESPACE"); v && !v->empty()) {
    ns = *v;
  } else {
    if (fs::exists(dir / "namespace", ec)) ns = trim(read_file_or(dir / "namespace", "the pod's namespace"));
  }
  if (!ns.empty()) {
    if (!valid_namespace(ns)) in_cluster_fail("namespace \"" + ns + "\" is not a valid namespace name");
    c.namespace_name = ns;
  }
  c.origin = "in-cluster, service account in " + dir.string();
  return c;
}

std::string current_token(const Connection& c) {
  if (!c.token.empty()) return c.token;
  if (c.token_file.empty()) return {};
  return read_token_file(c.token_file);
}

}  // namespace distls::k8s
