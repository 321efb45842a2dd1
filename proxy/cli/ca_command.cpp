#include "distls/cli/ca_command.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <sys/stat.h>

#include "distls/util/options.hpp"
#include "distls/x509/cert_builder.hpp"
#include "distls/util/duration.hpp"
#include "distls/x509/identity.hpp"
#include "distls/x509/pem.hpp"

namespace distls {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUsage =
    "usage: distls ca init  --out DIR [--ttl 87600h] [--cn NAME] [--force]\n"
    "       distls ca issue --ca-dir DIR --node ALIVE@HOST --out DIR [--ttl 24h] [--uri URI]...\n"
    "\n"
    "init   creates DIR (0700 if new) with ca.key (0600) and a self-signed ca.crt;\n"
    "       refuses to replace an existing ca.key unless --force is given.\n"
    "issue  signs a fresh key for node ALIVE@HOST with the CA in --ca-dir and writes\n"
    "       DIR/tls.key (0600), DIR/tls.crt (leaf, then intermediates) and DIR/ca.crt\n"
    "       (the trust bundle). HOST becomes an IP SAN when it is an IP, else a DNS SAN;\n"
    "       --uri adds URI SANs such as spiffe://td/ns/NS/sa/SA.\n"
    "Durations: 30s, 10m, 1h30m, 2d.\n";

struct InitConfig {
  std::string out;
  std::chrono::seconds ttl = std::chrono::hours(87600);
  std::string cn = "distls CA";
  bool force = false;
};

struct IssueConfig {
  std::string ca_dir, node, out;
  std::chrono::seconds ttl = std::chrono::hours(24);
  std::vector<std::string> uris;
};

// The same option parser as every other command: --opt value, --opt=value, and an
// environment variable per option (--ca-dir -> DISTLS_CA_DIR); bad values are
// ConfigErrors naming the option, and exit 2.
const std::vector<Option<InitConfig>>& init_options() {
  static const std::vector<Option<InitConfig>> options{  // immutable table
      {"out", "DIR", "", "directory for ca.key and ca.crt (required)",
       [](InitConfig& c, std::string_view v) { c.out = nonempty_option(v); }},
      {"ttl", "DURATION", "87600h", "lifetime of the CA certificate",
       [](InitConfig& c, std::string_view v) { c.ttl = duration_option(v); }},
      {"cn", "NAME", "distls CA", "the CA's common name",
       [](InitConfig& c, std::string_view v) { c.cn = nonempty_option(v); }},
      {"force", "", "false", "replace an existing ca.key",
       [](InitConfig& c, std::string_view v) { c.force = parse_flag(v); }, true},
  };
  return options;
}

const std::vector<Option<IssueConfig>>& issue_options() {
  static const std::vector<Option<IssueConfig>> options{  // immutable table
      {"ca-dir", "DIR", "", "the CA's directory, as ca init wrote it (required)",
       [](IssueConfig& c, std::string_view v) { c.ca_dir = nonempty_option(v); }},
      {"node", "ALIVE@HOST", "", "the node the certificate is for (required)",
       [](IssueConfig& c, std::string_view v) { c.node = nonempty_option(v); }},
      {"out", "DIR", "", "directory for tls.key, tls.crt and ca.crt (required)",
       [](IssueConfig& c, std::string_view v) { c.out = nonempty_option(v); }},
      {"ttl", "DURATION", "24h", "lifetime of the certificate",
       [](IssueConfig& c, std::string_view v) { c.ttl = duration_option(v); }},
      {"uri", "URI", "", "a URI SAN such as spiffe://td/ns/NS/sa/SA; repeatable",
       [](IssueConfig& c, std::string_view v) { c.uris.emplace_back(nonempty_option(v)); }},
  };
  return options;
}

std::string required(const std::string& value, std::string_view name) {
  if (value.empty()) throw ConfigError("--" + std::string(name) + " is required");
  return value;
}

// "DIR/" and "DIR" are the same directory; the trailing slash would defeat parent_path().
fs::path dir_option(const std::string& text) {
  std::string s = text;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return fs::path(s);
}

// Our directories hold private keys, so a new one is private from the start.
void ensure_private_dir(const fs::path& dir) {
  std::error_code ec;
  const auto st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) throw ossl::Error(dir.string() + ": not a directory");
    return;
  }
  if (dir.has_parent_path()) fs::create_directories(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0) {
    const int err = errno;
    throw ossl::Error(dir.string() + ": " + std::generic_category().message(err));
  }
  // mkdir's mode is filtered by the umask; make it exactly 0700 whatever the umask.
  if (::chmod(dir.c_str(), 0700) != 0) {
    const int err = errno;
    throw ossl::Error(dir.string() + ": " + std::generic_category().message(err));
  }
}

struct NodeParts {
  std::string alive;
  std::string host;
};

NodeParts parse_node(const std::string& node) {
  const auto at = node.find('@');
  if (at == std::string::npos) throw ConfigError("--node: '" + node + "' has no '@' (ALIVE@HOST)");
  NodeParts p{node.substr(0, at), node.substr(at + 1)};
  if (p.alive.empty()) throw ConfigError("--node: '" + node + "' has an empty alive part");
  const bool alive_ok = std::all_of(p.alive.begin(), p.alive.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
  if (!alive_ok)
    throw ConfigError("--node: alive part '" + p.alive +
                     "' may only hold letters, digits, '_' and '-'");
  if (p.host.empty()) throw ConfigError("--node: '" + node + "' has an empty host part");
  return p;
}

int ca_init(const std::vector<std::string>& args, std::ostream& out) {
  InitConfig c;
  apply_options(c, init_options(), std::vector<std::string>(args.begin() + 1, args.end()), process_env(), "ca init");
  const fs::path dir = dir_option(required(c.out, "out"));
  const auto ttl = c.ttl;
  const std::string cn = c.cn;
  const bool force = c.force;

  ensure_private_dir(dir);
  const fs::path key_path = dir / "ca.key";
  const fs::path crt_path = dir / "ca.crt";
  // symlink_status: a dangling symlink named ca.key is still something we would clobber.
  std::error_code ec;
  if (fs::exists(fs::symlink_status(key_path, ec)) && !force)
    throw ossl::Error(key_path.string() + " already exists (pass --force to replace it)");

  const ossl::PKey key = pem::generate_ec_p256();
  const ossl::X509Ptr cert = certs::make_self_signed_ca(key.get(), cn, ttl);
  pem::write_file_atomic(key_path, pem::private_key_to_pem(key.get()), 0600);
  pem::write_file_atomic(crt_path, pem::cert_to_pem(cert.get()), 0644);
  out << key_path.string() << '\n' << crt_path.string() << '\n';
  return 0;
}

int ca_issue(const std::vector<std::string>& args, std::ostream& out) {
  IssueConfig c;
  apply_options(c, issue_options(), std::vector<std::string>(args.begin() + 1, args.end()), process_env(), "ca issue");
  const fs::path ca_dir = dir_option(required(c.ca_dir, "ca-dir"));
  const std::string node = required(c.node, "node");
  const fs::path dir = dir_option(required(c.out, "out"));
  const auto ttl = c.ttl;
  const NodeParts parts = parse_node(node);

  const fs::path ca_crt_path = ca_dir / "ca.crt";
  const fs::path ca_key_path = ca_dir / "ca.key";
  const std::string ca_pem = pem::read_file(ca_crt_path);
  std::vector<ossl::X509Ptr> ca_certs = pem::read_certs(ca_pem, ca_crt_path.string());
  const ossl::PKey ca_key =
      pem::read_private_key(pem::read_file(ca_key_path), ca_key_path.string());

  certs::LeafSpec spec;
  spec.common_name = node;
  spec.sans = certs::sans_for_host(parts.host);
  spec.sans.uris = c.uris;
  spec.ttl = ttl;

  Identity id;
  id.key = pem::generate_ec_p256();
  id.chain.push_back(certs::sign_leaf(spec, id.key.get(), ca_certs.front().get(), ca_key.get()));
  // Peers hold only roots, so every intermediate must travel with the leaf.
  for (const ossl::X509Ptr& c : ca_certs) {
    const int ss = X509_self_signed(c.get(), 0);
    if (ss < 0) ossl::fail(ca_crt_path.string() + ": checking whether the CA is self-signed");
    if (ss == 0) id.chain.push_back(ossl::share(c.get()));
  }
  id.trust = std::move(ca_certs);
  // Catches a CA dir whose bundle lacks the root before anyone deploys the result.
  id.validate();

  std::string chain_pem;
  for (const ossl::X509Ptr& c : id.chain) chain_pem += pem::cert_to_pem(c.get());

  ensure_private_dir(dir);
  const fs::path key_path = dir / "tls.key";
  const fs::path crt_path = dir / "tls.crt";
  const fs::path bundle_path = dir / "ca.crt";
  pem::write_file_atomic(key_path, pem::private_key_to_pem(id.key.get()), 0600);
  pem::write_file_atomic(crt_path, chain_pem, 0644);
  pem::write_file_atomic(bundle_path, ca_pem, 0644);
  out << key_path.string() << '\n' << crt_path.string() << '\n' << bundle_path.string() << '\n';
  return 0;
}

bool wants_help(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(),
                     [](const std::string& a) { return a == "--help" || a == "-h"; });
}

}  // namespace

int run_ca_command(const std::vector<std::string>& args) {
  return run_ca_command(args, std::cout, std::cerr);
}

int run_ca_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (wants_help(args) || (!args.empty() && args.front() == "help")) {
    out << kUsage << options_usage(init_options(), "\nca init:") << options_usage(issue_options(), "\nca issue:");
    return 0;
  }
  if (args.empty()) {
    err << "distls ca: missing subcommand (init or issue); see distls ca --help\n";
    return 2;
  }
  const std::string& sub = args.front();
  if (sub != "init" && sub != "issue") {
    err << "distls ca: unknown subcommand '" << sub << "' (init or issue)\n";
    return 2;
  }
  const std::string prefix = "distls ca " + sub + ": ";
  try {
    return sub == "init" ? ca_init(args, out) : ca_issue(args, out);
  } catch (const ConfigError& e) {
    err << prefix << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    err << prefix << e.what() << '\n';
    return 1;
  }
}

}  // namespace distls
