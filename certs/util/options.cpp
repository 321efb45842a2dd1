#include "distls/util/options.hpp"

#include <cctype>
#include <cstdlib>

#include "distls/util/duration.hpp"

namespace distls {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

std::string env_name(std::string_view option) {
  std::string e = "DISTLS_";
  for (char c : option) e += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return e;
}

bool parse_flag(std::string_view v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  throw ConfigError("'" + std::string(v) + "' is not true or false");
}

std::chrono::seconds duration_option(std::string_view v) {
  auto d = parse_duration(v);
  if (!d) throw ConfigError("'" + std::string(v) + "' is not a duration such as 30s, 10m or 1h");
  return *d;
}

std::string nonempty_option(std::string_view v) {
  if (v.empty()) throw ConfigError("must not be empty");
  return std::string(v);
}

}  // namespace distls
