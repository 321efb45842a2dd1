// The API double (tests/k8s) started for one test: a process, its state directory, and
// connections to it with any token. Tests using it skip when DISTLS_K8S_DOUBLE (set by
// ctest) is not given.
#pragma once

#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "distls/k8s/kubeconfig.hpp"
#include "distls/x509/pem.hpp"

extern char** environ;

namespace distls::k8s {

class Double {
 public:
  explicit Double(const std::filesystem::path& dir) : dir_(dir) {
    const char* bin = std::getenv("DISTLS_K8S_DOUBLE");
    std::string state = dir.string();
    std::vector<std::string> args{bin, "--state-dir", state, "--listen", "127.0.0.1:0",
                                  "--token", "app-token=system:serviceaccount:shop:app"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, (dir / "log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, bin, &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 300 && !std::filesystem::exists(dir / "port"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // waiting for a process to start, not timing
  }
  ~Double() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool up() const { return pid_ > 0 && std::filesystem::exists(dir_ / "port"); }
  Connection connection(const std::string& token) const {
    Connection c;
    c.host = "127.0.0.1";
    c.port = static_cast<std::uint16_t>(std::stoi(pem::read_file(dir_ / "port")));
    c.ca_pem = pem::read_file(dir_ / "ca.crt");
    c.token = token;
    c.namespace_name = "shop";
    return c;
  }
  std::string admin_token() const {
    auto t = pem::read_file(dir_ / "admin-token");
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    return t;
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

}  // namespace distls::k8s
