// distls: mutual TLS for Erlang distribution. `main` only dispatches subcommands.
#include <iostream>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "distls/ca_command.hpp"
#include "distls/signer.hpp"
#include "proxy/proxy.hpp"

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

int main(int argc, char** argv) {
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
