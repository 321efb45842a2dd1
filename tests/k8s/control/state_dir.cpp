#include "tests/k8s/control/state_dir.hpp"

#include "distls/x509/pem.hpp"
#include "tests/k8s/encoding/base64.hpp"

namespace distls::k8s_double {

std::string kubeconfig_yaml(const std::string& server, const std::string& ca_pem, const std::string& user,
                            const std::string& token) {
  // Tokens and base64 need no YAML quoting; the user name may hold colons, so it is quoted.
  return "apiVersion: v1\n"
         "kind: Config\n"
         "clusters:\n"
         "- name: k8s-api-double\n"
         "  cluster:\n"
         "    server: " +
         server +
         "\n"
         "    certificate-authority-data: " +
         base64_encode(ca_pem) +
         "\n"
         "users:\n"
         "- name: \"" +
         user +
         "\"\n"
         "  user:\n"
         "    token: " +
         token +
         "\n"
         "contexts:\n"
         "- name: k8s-api-double\n"
         "  context:\n"
         "    cluster: k8s-api-double\n"
         "    user: \"" +
         user +
         "\"\n"
         "    namespace: default\n"
         "current-context: k8s-api-double\n";
}

void write_state_dir(const std::filesystem::path& dir, const std::string& server, unsigned short port,
                     const std::string& ca_pem, const std::string& admin_token) {
  std::filesystem::create_directories(dir);
  pem::write_file_atomic(dir / "ca.crt", ca_pem, 0644);
  pem::write_file_atomic(dir / "admin-token", admin_token + "\n", 0600);
  pem::write_file_atomic(dir / "kubeconfig", kubeconfig_yaml(server, ca_pem, "admin", admin_token), 0600);
  pem::write_file_atomic(dir / "port", std::to_string(port) + "\n", 0644);
}

}  // namespace distls::k8s_double
