// distls: mutual TLS for Erlang distribution. `main` only dispatches subcommands.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <openssl/ssl.h>

#include "distls/cli/ca_command.hpp"
#include "distls/k8s/signer.hpp"
#include "distls/cli/proxy_command.hpp"

namespace {

constexpr const char* kUsage =
    "usage: distls <command> [options]\n\n"
    "commands:\n"
    "  proxy      run the sidecar beside an Erlang node (distls proxy --help)\n"
    "  ca init    create a local CA               (distls ca init --help)\n"
    "  ca issue   issue a node certificate         (distls ca issue --help)\n"
    "  signer     approve and sign node CSRs in Kubernetes (distls signer --help)\n"
    "  version    print the version\n";

}  // namespace

// Each tunnel holds two descriptors, and a scan can hold many more for a moment: use all
// the descriptors the hard limit allows rather than the soft limit's usual 1024.
static void raise_descriptor_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

int main(int argc, char** argv) {
  // OpenSSL writes to tunnel sockets with write(2), which raises SIGPIPE when the peer
  // has gone; that must be an error on one connection, not the end of the process.
  std::signal(SIGPIPE, SIG_IGN);
  raise_descriptor_limit();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "proxy") return distls::run_proxy_command(args);
  if (cmd == "ca") return distls::run_ca_command(args);
  if (cmd == "signer") return distls::k8s::run_signer_command(args);
  if (cmd == "version" || cmd == "--version") {
    std::cout << "distls " << DISTLS_VERSION << " (" << OpenSSL_version(OPENSSL_VERSION) << ")\n";
    return 0;
  }
  std::cerr << "distls: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
}
