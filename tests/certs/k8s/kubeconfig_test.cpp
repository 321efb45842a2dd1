#include "distls/k8s/kubeconfig.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/certs/cert_test_support.hpp"

namespace distls::k8s {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// Written here rather than shared, so that the decoder under test is checked against an
// independent encoder.
std::string base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto byte = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(in[i])); };
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = byte(i) << 16;
    out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
  ASSERT_TRUE(f.good()) << p;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const K8sConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected K8sConfigError, nothing was thrown";
  return {};
}

// PEM material shared by the tests: the API server's CA, and a client cert with its key.
struct Pki {
  test::TestCa ca = test::make_ca("kubernetes");
  std::string ca_pem = pem::cert_to_pem(ca.cert.get());
  ossl::PKey client_key = pem::generate_ec_p256();
  std::string client_cert_pem = pem::cert_to_pem(test::make_leaf(ca, client_key.get(), "admin").get());
  std::string client_key_pem = pem::private_key_to_pem(client_key.get());
  ossl::PKey other_key = pem::generate_ec_p256();
  std::string other_key_pem = pem::private_key_to_pem(other_key.get());
};

const Pki& pki() {
  static const Pki p;
  return p;
}

// As `kubectl config view --raw` writes it: keys sorted, lists at their key's indentation,
// base64 on one line, several clusters, users and contexts.
std::string kubectl_style() {
  const Pki& p = pki();
  return "apiVersion: v1\n"
         "clusters:\n"
         "- cluster:\n"
         "    certificate-authority-data: " + base64(p.ca_pem) + "\n"
         "    server: https://10.96.0.1:6443\n"
         "  name: kind-dev\n"
         "- cluster:\n"
         "    certificate-authority-data: " + base64(p.ca_pem) + "\n"
         "    server: https://api.prod.example.com/k8s/\n"
         "    tls-server-name: kubernetes.default.svc\n"
         "  name: prod\n"
         "contexts:\n"
         "- context:\n"
         "    cluster: kind-dev\n"
         "    namespace: team-a\n"
         "    user: dev-token\n"
         "  name: dev\n"
         "- context:\n"
         "    cluster: prod\n"
         "    user: prod-admin\n"
         "  name: prod-admin\n"
         "- context:\n"
         "    cluster: prod\n"
         "    user: eks\n"
         "  name: prod-exec\n"
         "current-context: dev\n"
         "kind: Config\n"
         "preferences: {}\n"
         "users:\n"
         "- name: dev-token\n"
         "  user:\n"
         "    token: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZXYifQ.c2ln\n"
         "- name: prod-admin\n"
         "  user:\n"
         "    client-certificate-data: " + base64(p.client_cert_pem) + "\n"
         "    client-key-data: " + base64(p.client_key_pem) + "\n"
         "- name: eks\n"
         "  user:\n"
         "    exec:\n"
         "      apiVersion: client.authentication.k8s.io/v1beta1\n"
         "      args:\n"
         "      - eks\n"
         "      - get-token\n"
         "      - --cluster-name\n"
         "      - prod\n"
         "      command: aws\n"
         "      env: null\n"
         "      interactiveMode: IfAvailable\n"
         "      provideClusterInfo: false\n";
}

TEST(Kubeconfig, ReadsWhatKubectlWrites) {
  TempDir dir;
  const fs::path file = dir / "config";
  write(file, kubectl_style());

  const Connection dev = load_kubeconfig(file);  // current-context
  EXPECT_EQ(dev.host, "10.96.0.1");
  EXPECT_EQ(dev.port, 6443);
  EXPECT_EQ(dev.base_path, "");
  EXPECT_EQ(dev.ca_pem, pki().ca_pem);
  EXPECT_EQ(dev.tls_server_name, "10.96.0.1");
  EXPECT_FALSE(dev.insecure_skip_verify);
  EXPECT_EQ(dev.token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZXYifQ.c2ln");
  EXPECT_EQ(current_token(dev), dev.token);
  EXPECT_TRUE(dev.token_file.empty());
  EXPECT_TRUE(dev.client_cert_pem.empty());
  EXPECT_EQ(dev.namespace_name, "team-a");
  EXPECT_EQ(dev.describe(),
            "https://10.96.0.1:6443 (kubeconfig " + file.string() + ", context dev, user dev-token)");
  EXPECT_EQ(dev.describe().find("eyJ"), std::string::npos);

  // The context argument overrides current-context.
  const Connection prod = load_kubeconfig(file, "prod-admin");
  EXPECT_EQ(prod.host, "api.prod.example.com");
  EXPECT_EQ(prod.port, 443);
  EXPECT_EQ(prod.base_path, "/k8s");
  EXPECT_EQ(prod.tls_server_name, "kubernetes.default.svc");
  EXPECT_EQ(prod.client_cert_pem, pki().client_cert_pem);
  EXPECT_EQ(prod.client_key_pem, pki().client_key_pem);
  EXPECT_TRUE(prod.token.empty());
  EXPECT_EQ(current_token(prod), "");
  EXPECT_EQ(prod.namespace_name, "default");
  EXPECT_EQ(prod.describe(), "https://api.prod.example.com:443/k8s (kubeconfig " + file.string() +
                                 ", context prod-admin, user prod-admin)");
  EXPECT_EQ(prod.describe().find("PRIVATE"), std::string::npos);

  // An exec plugin (EKS, GKE, AKS) cannot be run by a sidecar: refused by name.
  const std::string err = error_of([&] { load_kubeconfig(file, "prod-exec"); });
  EXPECT_NE(err.find(file.string()), std::string::npos) << err;
  EXPECT_NE(err.find("users[\"eks\"].user.exec"), std::string::npos) << err;
  EXPECT_NE(err.find("not supported; use a token or a client certificate"), std::string::npos) << err;
}

TEST(Kubeconfig, ReadsTheJsonForm) {
  TempDir dir;
  const fs::path file = dir / "config.json";
  write(file, R"({
  "kind": "Config",
  "apiVersion": "v1",
  "clusters": [
    {"name": "c", "cluster": {"server": "https://[fd00::1]:6443", "certificate-authority-data": ")" +
                  base64(pki().ca_pem) + R"("}}
  ],
  "users": [{"name": "u", "user": {"token": "abc\u002edef"}}],
  "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "ns-1"}}],
  "current-context": "x"
}
)");
  const Connection c = load_kubeconfig(file);
  EXPECT_EQ(c.host, "fd00::1");
  EXPECT_EQ(c.port, 6443);
  EXPECT_EQ(c.token, "abc.def");
  EXPECT_EQ(c.namespace_name, "ns-1");
  EXPECT_EQ(c.ca_pem, pki().ca_pem);
}

TEST(Kubeconfig, Ipv6ServerUrl) {
  TempDir dir;
  write(dir / "config",
        "clusters:\n- name: c\n  cluster:\n    server: https://[fd00::1]:6443\n"
        "    insecure-skip-tls-verify: true\n"
        "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n");
  const Connection c = load_kubeconfig(dir / "config");
  EXPECT_EQ(c.host, "fd00::1");
  EXPECT_EQ(c.port, 6443);
  EXPECT_EQ(c.tls_server_name, "fd00::1");
  EXPECT_EQ(c.authority(), "[fd00::1]:6443");
  EXPECT_TRUE(c.insecure_skip_verify);
  EXPECT_TRUE(c.ca_pem.empty());
  EXPECT_EQ(current_token(c), "");  // a context without a user is anonymous, as in kubectl
  EXPECT_EQ(c.describe().rfind("https://[fd00::1]:6443 (kubeconfig ", 0), 0u) << c.describe();
  EXPECT_NE(c.describe().find("user (none)"), std::string::npos) << c.describe();
}

TEST(Kubeconfig, RelativePathsAreRelativeToTheFile) {
  TempDir dir;
  const Pki& p = pki();
  write(dir / "kube/pki/ca.crt", p.ca_pem);
  write(dir / "kube/pki/admin.crt", p.client_cert_pem);
  write(dir / "abs/admin.key", p.client_key_pem);
  write(dir / "kube/token", "  tok-1\n");
  write(dir / "kube/config",
        "clusters:\n- name: c\n  cluster:\n    server: https://k8s.local:8443\n"
        "    certificate-authority: pki/ca.crt\n"
        "users:\n"
        "- name: certs\n  user:\n    client-certificate: pki/admin.crt\n"
        "    client-key: " + (dir / "abs/admin.key").string() + "\n"
        "- name: file\n  user:\n    tokenFile: token\n"
        "contexts:\n"
        "- name: certs\n  context: {cluster: c, user: certs}\n"
        "- name: file\n  context: {cluster: c, user: file}\n"
        "current-context: certs\n");
  // The process's working directory must not matter.
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir.path());
  const Connection certs = load_kubeconfig("kube/config");
  const Connection file = load_kubeconfig(dir / "kube/config", "file");
  fs::current_path(old_cwd);

  EXPECT_EQ(certs.ca_pem, p.ca_pem);
  EXPECT_EQ(certs.client_cert_pem, p.client_cert_pem);
  EXPECT_EQ(certs.client_key_pem, p.client_key_pem);
  EXPECT_EQ(file.token_file, dir / "kube/token");
  EXPECT_TRUE(file.token.empty());
  EXPECT_EQ(current_token(file), "tok-1");
}

TEST(Kubeconfig, TokenFileIsReadAgainEachTime) {
  TempDir dir;
  write(dir / "token", "first\n");
  write(dir / "config",
        "clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {tokenFile: token}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n");
  const Connection c = load_kubeconfig(dir / "config");
  EXPECT_EQ(current_token(c), "first");
  write(dir / "token", "second\r\n");  // as the kubelet does when it rotates a projected token
  EXPECT_EQ(current_token(c), "second");
  write(dir / "token", "");
  EXPECT_NE(error_of([&] { current_token(c); }).find("is empty"), std::string::npos);
  fs::remove(dir / "token");
  EXPECT_NE(error_of([&] { current_token(c); }).find("No such file"), std::string::npos);
}

// A kubeconfig with one cluster, one user and one context, from their settings' lines.
std::string one_context(const std::string& cluster, const std::string& user,
                        const std::string& context = "") {
  return "kind: Config\nclusters:\n- name: c\n  cluster:\n" + cluster +  //
         "users:\n- name: u\n  user:\n" + user +                          //
         "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n" + context +
         "current-context: x\n";
}

TEST(Kubeconfig, RefusesWithFileAndField) {
  const Pki& p = pki();
  const std::string ca = "    certificate-authority-data: " + base64(p.ca_pem) + "\n";
  const std::string server = "    server: https://h:6443\n" + ca;
  const std::string token = "    token: t\n";
  const std::string cert = "    client-certificate-data: " + base64(p.client_cert_pem) + "\n";
  struct Case {
    std::string yaml;
    std::string context;
    std::vector<std::string> expect;
  };
  const Case cases[] = {
      {one_context("    server: http://h:8080\n", token), "", {"clusters[\"c\"].cluster.server", "http://"}},
      {one_context("    server: h:6443\n", token), "", {"cluster.server", "must be an https:// URL"}},
      {one_context("    server: https://fd00::1:6443\n", token), "", {"must be in brackets"}},
      {one_context("    server: https://[fd00::zz]:6443\n", token), "", {"not an IPv6 address"}},
      {one_context("    server: https://h:0\n", token), "", {"port \"0\""}},
      {one_context("    server: https://h:65536\n", token), "", {"port \"65536\""}},
      {one_context("    server: https://user:pw@h\n", token), "", {"credentials in the server URL"}},
      {one_context("    server: https://h/x?y=1\n", token), "", {"query"}},
      {one_context("    server: \"https://h/a b\"\n", token), "", {"need escaping"}},
      {one_context("    server: \"https://h\\r\\nX: y\"\n", token), "", {"not a host name"}},
      {one_context(ca, token), "", {"cluster.server: missing"}},
      {one_context(server + "    proxy-url: http://proxy:3128\n", token), "", {"proxy-url", "not supported"}},
      {one_context(server + "    insecure-skip-tls-verify: true\n", token), "", {"skip-tls-verify and"}},
      {one_context(server + "    insecure-skip-tls-verify: \"yes\"\n", token), "", {"must be true or false"}},
      {one_context(server + "    certificate-authority: ca.crt\n", token), "", {"-data are both set"}},
      {one_context("    server: https://h\n    certificate-authority-data: '%%%'\n", token), "",
       {"certificate-authority-data", "not valid base64"}},
      {one_context("    server: https://h\n    certificate-authority-data: aGVsbG8=\n", token), "",
       {"certificate-authority-data", "no CERTIFICATE"}},
      {one_context("    server: https://h\n    certificate-authority: missing.crt\n", token), "",
       {"certificate-authority", "missing.crt", "No such file"}},
      {one_context(server + "    tls-server-name: \"a/b\"\n", token), "", {"tls-server-name"}},
      {one_context(server, "    auth-provider:\n      name: oidc\n"), "", {"user.auth-provider", "not supp"}},
      {one_context(server, "    username: admin\n    password: pw\n"), "", {"user.username", "basic auth"}},
      {one_context(server, token + "    as: someone\n"), "", {"user.as", "impersonation"}},
      {one_context(server, token + "    tokenFile: /t\n"), "", {"token and tokenFile are both set"}},
      {one_context(server, "    token: \"a b\"\n"), "", {"user.token", "whitespace"}},
      {one_context(server, "    token: 12345\n"), "", {"user.token", "must be a string (quote it)"}},
      {one_context(server, "    tokenFile: /nonexistent/token\n"), "", {"user.tokenFile", "No such file"}},
      {one_context(server, cert), "", {"client-certificate is set but client-key is not"}},
      {one_context(server, "    client-key-data: " + base64(p.client_key_pem) + "\n"), "",
       {"client-key is set but client-certificate is not"}},
      {one_context(server, cert + "    client-key-data: " + base64(p.other_key_pem) + "\n"), "",
       {"client-key does not belong to client-certificate"}},
      {one_context(server, "    client-certificate-data: " + base64(p.client_key_pem) +
                               "\n    client-key-data: " + base64(p.client_key_pem) + "\n"),
       "",
       {"client-certificate-data", "no CERTIFICATE"}},
      {one_context(server, token, "    namespace: Bad_NS\n"), "", {"context.namespace", "Bad_NS"}},
      {one_context(server, token), "nope", {"contexts: no entry named \"nope\" (there are: x)"}},
      {one_context(server, token) + "users:\n", "", {"line 17", "duplicate key \"users\""}},
      {"kind: Secret\napiVersion: v1\n", "", {"kind: is \"Secret\", not Config"}},
      {"clusters: []\n", "", {"current-context: not set"}},
      {"", "", {"is empty"}},
      {"- a\n", "", {"not a mapping"}},
      {"current-context: x\ncontexts: {x: y}\n", "", {"contexts: must be a list"}},
      {"current-context: x\ncontexts:\n- name: x\n", "", {"contexts[\"x\"].context: missing"}},
      {"current-context: x\ncontexts:\n- name: x\n  context: {user: u}\n", "", {"context.cluster: missing"}},
      {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters: []\n", "",
       {"clusters: no entry named \"c\" (the list is empty)"}},
      {"current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n"
       "clusters:\n- {name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: true}}\n"
       "users:\n- name: v\n",
       "",
       {"users: no entry named \"u\" (there are: v)"}},
      {"current-context: x\ncontexts:\n- {name: x, context: {cluster: c}}\n"
       "- {name: x, context: {cluster: d}}\n",
       "",
       {"contexts: two entries are named \"x\""}},
  };
  TempDir dir;
  const fs::path file = dir / "config";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    write(file, c.yaml);
    const std::string err = error_of([&] { load_kubeconfig(file, c.context); });
    EXPECT_EQ(err.rfind("kubeconfig " + file.string(), 0), 0u) << err;
    for (const std::string& e : c.expect) EXPECT_TRUE(contains(err, e)) << "want \"" << e << "\" in: " << err;
  }
  EXPECT_TRUE(contains(error_of([&] { load_kubeconfig(dir / "absent"); }), "cannot read kubeconfig"));
}

struct FakeEnv {
  std::map<std::string, std::string> vars;
  std::optional<std::string> operator()(const std::string& name) const {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  }
};

// The files Kubernetes mounts at /var/run/secrets/kubernetes.io/serviceaccount.
void write_service_account(const TempDir& dir, const std::string& token = "sa-token-1\n") {
  write(dir / "token", token);
  write(dir / "ca.crt", pki().ca_pem);
  write(dir / "namespace", "erlang-prod");
}

TEST(InCluster, ReadsTheServiceAccount) {
  TempDir dir;
  write_service_account(dir);
  const FakeEnv env{{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}};
  const Connection c = load_in_cluster(env, dir.path());
  EXPECT_EQ(c.host, "10.96.0.1");
  EXPECT_EQ(c.port, 443);
  EXPECT_EQ(c.base_path, "");
  EXPECT_EQ(c.tls_server_name, "10.96.0.1");
  EXPECT_EQ(c.ca_pem, pki().ca_pem);
  EXPECT_TRUE(c.token.empty());
  EXPECT_EQ(c.token_file, dir / "token");
  EXPECT_EQ(c.namespace_name, "erlang-prod");
  EXPECT_EQ(c.describe(),
            "https://10.96.0.1:443 (in-cluster, service account in " + dir.path().string() + ")");

  // The kubelet rewrites the projected token long before it expires; each request must
  // send the current one.
  EXPECT_EQ(current_token(c), "sa-token-1");
  write(dir / "token", "sa-token-2");
  EXPECT_EQ(current_token(c), "sa-token-2");
}

TEST(InCluster, Ipv6ServiceHostAndNamespaceFallbacks) {
  TempDir dir;
  write_service_account(dir);
  FakeEnv env{{{"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"}, {"KUBERNETES_SERVICE_PORT", "6443"}}};
  Connection c = load_in_cluster(env, dir.path());
  EXPECT_EQ(c.host, "fd00:10:96::1");
  EXPECT_EQ(c.authority(), "[fd00:10:96::1]:6443");

  env.vars["POD_NAMESPACE"] = "from-downward-api";  // client-go's override
  EXPECT_EQ(load_in_cluster(env, dir.path()).namespace_name, "from-downward-api");
  env.vars.erase("POD_NAMESPACE");
  fs::remove(dir / "namespace");
  EXPECT_EQ(load_in_cluster(env, dir.path()).namespace_name, "default");
}

TEST(InCluster, RefusesWithAClearReason) {
  TempDir dir;
  write_service_account(dir);
  const std::string host = "KUBERNETES_SERVICE_HOST", port = "KUBERNETES_SERVICE_PORT";
  struct Case {
    std::map<std::string, std::string> env;
    std::string expect;
  };
  const Case cases[] = {
      {{}, "not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set; use --kubeconfig"},
      {{{host, ""}, {port, "443"}}, "KUBERNETES_SERVICE_HOST is not set"},
      {{{host, "10.0.0.1"}}, "KUBERNETES_SERVICE_PORT is not"},
      {{{host, "10.0.0.1"}, {port, "https"}}, "KUBERNETES_SERVICE_PORT \"https\" is not a port number"},
      {{{host, "10.0.0.1\r\nX: y"}, {port, "443"}}, "is not a host name or IP address"},
      {{{host, "10.0.0.1"}, {port, "443"}, {"POD_NAMESPACE", "a/b"}}, "namespace \"a/b\" is not a valid"},
  };
  for (const Case& c : cases) {
    const std::string err = error_of([&] { load_in_cluster(FakeEnv{c.env}, dir.path()); });
    EXPECT_EQ(err.rfind("in-cluster configuration: ", 0), 0u) << err;
    EXPECT_NE(err.find(c.expect), std::string::npos) << "want \"" << c.expect << "\" in: " << err;
  }

  const FakeEnv env{{{host, "10.0.0.1"}, {port, "443"}}};
  write(dir / "token", "two words");
  EXPECT_TRUE(contains(error_of([&] { load_in_cluster(env, dir.path()); }), "whitespace or control"));
  fs::remove(dir / "token");
  const std::string no_token = error_of([&] { load_in_cluster(env, dir.path()); });
  EXPECT_NE(no_token.find((dir / "token").string()), std::string::npos) << no_token;
  EXPECT_NE(no_token.find("automountServiceAccountToken"), std::string::npos) << no_token;
  write(dir / "token", "t");
  write(dir / "ca.crt", "not a certificate\n");
  EXPECT_NE(error_of([&] { load_in_cluster(env, dir.path()); }).find("no CERTIFICATE"), std::string::npos);
  fs::remove(dir / "ca.crt");
  EXPECT_NE(error_of([&] { load_in_cluster(env, dir.path()); }).find("ca.crt"), std::string::npos);
}

TEST(Kubeconfig, Base64AsKubectlWritesIt) {
  const std::string kServer = "    server: https://h\n";
  TempDir dir;
  // Each padding length, by growing the PEM a byte at a time.
  for (const std::string tail : {"", "\n", "\n\n"}) {
    const std::string ca = pki().ca_pem + tail;
    write(dir / "config", one_context(kServer + "    certificate-authority-data: " + base64(ca) + "\n", ""));
    EXPECT_EQ(load_kubeconfig(dir / "config").ca_pem, ca);
  }
  // Wrapped as `base64` prints it, pasted into a block scalar: Go's decoder skips the line
  // breaks, and so does ours.
  std::string wrapped;
  const std::string b64 = base64(pki().ca_pem);
  for (std::size_t i = 0; i < b64.size(); i += 76) wrapped += "      " + b64.substr(i, 76) + "\n";
  write(dir / "config", one_context(kServer + "    certificate-authority-data: |\n" + wrapped, ""));
  EXPECT_EQ(load_kubeconfig(dir / "config").ca_pem, pki().ca_pem);

  for (const std::string bad : {"QQ", "QQ=", "QQ===", "Q===", "QQ==QQ==", "QUJD-A==", "QQ=A", "QUJD QUJD"}) {
    write(dir / "config", one_context(kServer + "    certificate-authority-data: " + bad + "\n", ""));
    EXPECT_TRUE(contains(error_of([&] { load_kubeconfig(dir / "config"); }), "not valid base64")) << bad;
  }
}

// Kubeconfigs as kubectl, kind and the cloud CLIs write them: tests/certs/k8s/kubeconfigs/,
// made by make_kubeconfigs.py there, which says how each tool lays its file out.
fs::path fixture(const std::string& name) {
  return fs::path(DISTLS_SOURCE_DIR) / "tests/certs/k8s/kubeconfigs" / name;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

const std::string kExecRefused =
    "exec credential plugins are not supported; use a token or a client certificate";

TEST(Kubeconfig, ReadsTheFileKubectlWrote) {
  const fs::path file = fixture("kubectl.yaml");
  const Connection dev = load_kubeconfig(file);
  EXPECT_EQ(dev.host, "127.0.0.1");
  EXPECT_EQ(dev.port, 6443);
  EXPECT_EQ(dev.base_path, "");
  EXPECT_EQ(dev.tls_server_name, "127.0.0.1");
  EXPECT_TRUE(starts_with(dev.ca_pem, "-----BEGIN CERTIFICATE-----\n")) << dev.ca_pem;
  EXPECT_EQ(dev.token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZXYifQ.c2ln");
  EXPECT_EQ(dev.namespace_name, "team-a");
  EXPECT_EQ(dev.origin, "kubeconfig " + file.string() + ", context dev, user dev-token");

  const Connection admin = load_kubeconfig(file, "prod-admin");
  EXPECT_EQ(admin.host, "fd00:10:96::1");
  EXPECT_EQ(admin.port, 6443);
  EXPECT_EQ(admin.base_path, "/k8s");
  EXPECT_EQ(admin.tls_server_name, "kubernetes.default.svc");
  EXPECT_EQ(admin.ca_pem, dev.ca_pem);
  EXPECT_TRUE(starts_with(admin.client_cert_pem, "-----BEGIN CERTIFICATE-----\n"));
  EXPECT_TRUE(starts_with(admin.client_key_pem, "-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_TRUE(admin.token.empty());
  EXPECT_EQ(admin.namespace_name, "default");

  // `kubectl config set users.robot.tokenFile robot.token` keeps the path relative.
  const Connection robot = load_kubeconfig(file, "robot");
  EXPECT_EQ(robot.token_file, fixture("robot.token"));
  EXPECT_EQ(current_token(robot), "robot-token-from-file");
  EXPECT_EQ(robot.namespace_name, "ci");

  const std::string err = error_of([&] { load_kubeconfig(file, "prod-exec"); });
  EXPECT_EQ(err, "kubeconfig " + file.string() + ": users[\"eks\"].user.exec: " + kExecRefused +
                     " (for example a service account token)");
}

TEST(Kubeconfig, ReadsTheFileKindWrote) {
  const fs::path file = fixture("kind.yaml");
  const Connection c = load_kubeconfig(file);
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 41235);
  EXPECT_TRUE(starts_with(c.ca_pem, "-----BEGIN CERTIFICATE-----\n"));
  EXPECT_TRUE(starts_with(c.client_cert_pem, "-----BEGIN CERTIFICATE-----\n"));
  EXPECT_TRUE(starts_with(c.client_key_pem, "-----BEGIN RSA PRIVATE KEY-----\n"));  // kubeadm's PKCS#1
  EXPECT_TRUE(c.token.empty());
  EXPECT_EQ(c.namespace_name, "default");
  EXPECT_EQ(c.origin, "kubeconfig " + file.string() + ", context kind-distls, user kind-distls");
}

TEST(Kubeconfig, ReadsTheAksAdminCredentials) {
  const fs::path file = fixture("aks.yaml");
  const Connection c = load_kubeconfig(file);  // az renames the admin context to <name>-admin and selects it
  EXPECT_EQ(c.host, "erlang-prod-dns-4f1c2b7e.hcp.westeurope.azmk8s.io");
  EXPECT_EQ(c.port, 443);
  EXPECT_EQ(c.token.size(), 128u);
  EXPECT_TRUE(starts_with(c.client_key_pem, "-----BEGIN RSA PRIVATE KEY-----\n"));
  EXPECT_EQ(c.origin, "kubeconfig " + file.string() + ", context erlang-prod-admin, user clusterAdmin_rg-erlang_erlang-prod");
}

// GKE, EKS and AKS (with Entra ID) hand out exec plugins only: a sidecar cannot run them,
// and says so naming the user, after reading the cluster (server URL, CA) without fault.
TEST(Kubeconfig, RefusesTheCloudCliExecPluginsByName) {
  struct Case {
    const char* file;
    std::string context, user;
  };
  const Case cases[] = {
      {"gke.yaml", "", "gke_acme-dev_us-central1-a_sandbox"},
      {"gke.yaml", "gke_acme-prod_europe-west1_erlang", "gke_acme-prod_europe-west1_erlang"},
      {"eks.yaml", "", "arn:aws:eks:us-east-2:123456789012:cluster/erlang-staging"},
      {"eks.yaml", "arn:aws:eks:eu-west-1:123456789012:cluster/erlang-prod",
       "arn:aws:eks:eu-west-1:123456789012:cluster/erlang-prod"},
      {"aks.yaml", "erlang-prod", "clusterUser_rg-erlang_erlang-prod"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.file) + " " + c.context);
    const fs::path file = fixture(c.file);
    EXPECT_EQ(error_of([&] { load_kubeconfig(file, c.context); }),
              "kubeconfig " + file.string() + ": users[\"" + c.user + "\"].user.exec: " + kExecRefused +
                  " (for example a service account token)");
  }
}

// The fixture is what one kubectl wrote once; this asks the kubectl installed here,
// whatever its version, to write a kubeconfig from the test's own PKI.
TEST(Kubeconfig, ReadsWhatTheInstalledKubectlWrites) {
  if (std::system("command -v kubectl >/dev/null 2>&1") != 0) GTEST_SKIP() << "kubectl is not on PATH";
  TempDir dir;
  const Pki& p = pki();
  write(dir / "ca.crt", p.ca_pem);
  write(dir / "admin.crt", p.client_cert_pem);
  write(dir / "admin.key", p.client_key_pem);
  const std::string config = (dir / "config").string();
  write(dir / "config", "");
  // Google Cloud SDK's kubectl asks the server a command names for its version, to pick a
  // kubectl to run: one that never answers costs seconds a command, a closed port nothing.
  const std::vector<std::string> commands = {
      "set-cluster c --server=https://127.0.0.1:1/api-prefix --certificate-authority=ca.crt --embed-certs",
      "set-credentials certs --client-certificate=admin.crt --client-key=admin.key --embed-certs",
      "set-credentials tok --token=t0k.en",
      "set-credentials plugin --exec-command=gke-gcloud-auth-plugin "
      "--exec-api-version=client.authentication.k8s.io/v1beta1 --exec-arg=--verbosity,2 --exec-env=A=b",
      "set-context certs --cluster=c --user=certs --namespace=shop",
      "set-context tok --cluster=c --user=tok",
      "set-context plugin --cluster=c --user=plugin",
      "use-context certs",
  };
  for (const std::string& args : commands) {
    const std::string cmd = "cd '" + dir.path().string() + "' && HOME='" + dir.path().string() + "' kubectl --kubeconfig '" +
                            config + "' config " + args + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  const Connection certs = load_kubeconfig(dir / "config");
  EXPECT_EQ(certs.host, "127.0.0.1");
  EXPECT_EQ(certs.port, 1);
  EXPECT_EQ(certs.base_path, "/api-prefix");
  EXPECT_EQ(certs.ca_pem, p.ca_pem);
  EXPECT_EQ(certs.client_cert_pem, p.client_cert_pem);
  EXPECT_EQ(certs.client_key_pem, p.client_key_pem);
  EXPECT_EQ(certs.namespace_name, "shop");
  EXPECT_EQ(load_kubeconfig(dir / "config", "tok").token, "t0k.en");
  EXPECT_TRUE(contains(error_of([&] { load_kubeconfig(dir / "config", "plugin"); }),
                       "users[\"plugin\"].user.exec: " + kExecRefused));
}

}  // namespace
}  // namespace distls::k8s
