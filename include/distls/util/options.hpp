// Command-line options shared by every distls command: `--opt value` or `--opt=value`,
// each with an environment variable (`--cert-ttl` → DISTLS_CERT_TTL) that the command
// line overrides. A bad value is a ConfigError naming the option, and the command exits
// at once with that one line.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace distls {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();
std::string env_name(std::string_view option);  // "cert-ttl" -> "DISTLS_CERT_TTL"

template <class Config>
struct Option {
  std::string_view name;      // without the leading dashes
  std::string_view metavar;   // empty for a flag
  std::string_view fallback;  // default, as shown in --help
  std::string_view help;
  std::function<void(Config&, std::string_view)> apply;  // throws ConfigError(reason)
  bool flag = false;          // takes no value on the command line ("true" is passed)
};

// The options applied to `c` in order, environment first; returns the names that were set.
template <class Config>
std::set<std::string_view> apply_options(Config& c, const std::vector<Option<Config>>& options,
                                         const std::vector<std::string>& args, const EnvLookup& env,
                                         std::string_view command) {
  std::map<std::string_view, const Option<Config>*> by_name;
  for (const auto& o : options) by_name[o.name] = &o;
  std::vector<std::pair<const Option<Config>*, std::string>> settings;
  for (const auto& o : options)
    if (auto v = env(env_name(o.name))) settings.emplace_back(&o, *v);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (!a.starts_with("--")) throw ConfigError("unexpected argument '" + std::string(a) + "'");
    a.remove_prefix(2);
    std::optional<std::string> value;
    if (auto eq = a.find('='); eq != std::string_view::npos) {
      value = std::string(a.substr(eq + 1));
      a = a.substr(0, eq);
    }
    auto it = by_name.find(a);
    if (it == by_name.end())
      throw ConfigError("--" + std::string(a) + ": unknown option (see distls " + std::string(command) + " --help)");
    if (!value) {
      if (it->second->flag) {
        value = "true";
      } else {
        // "--out --ttl 1h" is a forgotten value, not a directory named "--ttl".
        if (i + 1 >= args.size() || std::string_view(args[i + 1]).starts_with("--"))
          throw ConfigError("--" + std::string(a) + ": needs a value");
        value = args[++i];
      }
    }
    settings.emplace_back(it->second, *value);
  }
  std::set<std::string_view> seen;
  for (const auto& [o, v] : settings) {
    try {
      o->apply(c, v);
    } catch (const ConfigError& e) {
      throw ConfigError("--" + std::string(o->name) + ": " + e.what());
    }
    seen.insert(o->name);
  }
  return seen;
}

template <class Config>
std::string options_usage(const std::vector<Option<Config>>& options, std::string_view header) {
  std::string out(header);
  out += "\nEach option can also be set through the environment variable shown; the command line wins.\n\n";
  for (const auto& o : options) {
    std::string left = "  --" + std::string(o.name) + (o.metavar.empty() ? "" : " " + std::string(o.metavar));
    if (left.size() < 34) left.resize(34, ' ');
    out += left + " " + std::string(o.help);
    if (!o.fallback.empty()) out += " [" + std::string(o.fallback) + "]";
    out += "\n" + std::string(36, ' ') + "env " + env_name(o.name) + "\n";
  }
  return out;
}

// Value checks shared by the option tables; each throws ConfigError with the reason.
bool parse_flag(std::string_view v);  // true/false/1/0/yes/no
std::chrono::seconds duration_option(std::string_view v);
std::string nonempty_option(std::string_view v);

}  // namespace distls
