// The files a test reads to find the running double: DIR/ca.crt, DIR/kubeconfig,
// DIR/admin-token, and DIR/port, written last, so that its presence means "listening".
#pragma once

#include <filesystem>
#include <string>

namespace distls::k8s_double {

// A kubeconfig for `server` (https://HOST:PORT), trusting `ca_pem` inline, as `user` with
// a bearer token. Context and cluster are named "k8s-api-double"; namespace "default".
std::string kubeconfig_yaml(const std::string& server, const std::string& ca_pem, const std::string& user,
                            const std::string& token);

void write_state_dir(const std::filesystem::path& dir, const std::string& server, unsigned short port,
                     const std::string& ca_pem, const std::string& admin_token);

}  // namespace distls::k8s_double
