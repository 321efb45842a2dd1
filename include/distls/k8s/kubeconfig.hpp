// Where the Kubernetes API server is and how to authenticate to it: from a kubeconfig file
// (as kubectl reads it) or from what Kubernetes mounts into every pod. Both are read once
// at startup and fully checked then (URL, base64, PEM, key against certificate, files
// present), so that a mistake stops distls with the file and field named, not at the
// first CSR an hour later.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace distls::k8s {

struct K8sConfigError : std::runtime_error {
  using runtime_error::runtime_error;
};

struct Connection {
  std::string host;             // from the server URL; IPv6 without brackets
  std::uint16_t port = 443;
  std::string base_path;        // path prefix of the server URL without a trailing '/', usually ""
  std::string ca_pem;           // PEM bundle that must have signed the API server's cert; empty only
                                // when the kubeconfig names no CA (kubectl then trusts the system roots)
  std::string tls_server_name;  // SNI / name to verify; default host
  bool insecure_skip_verify = false;
  std::string token;                    // static bearer token, or
  std::filesystem::path token_file;     // a file to re-read (projected SA tokens rotate)
  std::string client_cert_pem, client_key_pem;  // client certificate auth (checked to match)
  std::string namespace_name = "default";       // context namespace / in-cluster namespace
  std::string origin;  // "kubeconfig F, context C, user U" or "in-cluster, service account in D"

  // "host:port", with an IPv6 host in brackets, as in a URL or a Host header.
  std::string authority() const;
  // "https://host:port/base (origin)" for logs; never holds a secret.
  std::string describe() const;
};

// Reads `file` the way kubectl does, for the context `context` or else current-context:
//   clusters[].cluster: server (https:// only), certificate-authority[-data],
//     insecure-skip-tls-verify, tls-server-name
//   users[].user: token | tokenFile, client-certificate[-data] + client-key[-data]
//   contexts[].context: cluster, user, namespace
// Relative paths are relative to the kubeconfig's directory. Refused with the reason:
// exec and auth-provider plugins, basic auth, impersonation, proxy-url, and both forms of
// one setting at once (token and tokenFile, a file and its -data). The file may be YAML or
// JSON. Throws K8sConfigError("kubeconfig F: field: reason").
Connection load_kubeconfig(const std::filesystem::path& file, const std::string& context = "");

// The configuration of a pod: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT from `env`
// (an IPv6 host without brackets, as Kubernetes sets it), the token, ca.crt and namespace
// files from `dir`. As in client-go, POD_NAMESPACE overrides the namespace file, and a
// missing namespace file means "default". The token is kept as a file to re-read, since
// the kubelet rotates projected tokens. Throws K8sConfigError with the reason.
Connection load_in_cluster(const std::function<std::optional<std::string>(const std::string&)>& env,
                           const std::filesystem::path& dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The bearer token to send now: the static token, or the current contents of token_file
// (surrounding whitespace trimmed), or "" when the connection authenticates by client
// certificate only. Throws K8sConfigError when the file is unreadable, empty, or holds
// characters that cannot go into an HTTP header.
std::string current_token(const Connection& c);

}  // namespace distls::k8s
