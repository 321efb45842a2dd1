// The command line of k8s_api_double.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "distls/util/log.hpp"
#include "tests/k8s/auth/token_registry.hpp"

namespace distls::k8s_double {

struct Options {
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::make_address("127.0.0.1"), 0};
  std::filesystem::path state_dir;
  std::vector<TokenSpec> tokens;
  std::vector<std::filesystem::path> rbac_files;  // JSON Lists of RBAC objects, loaded at start
  std::string admin_token;  // "" picks a random one
  std::optional<std::filesystem::path> tls_cert, tls_key, tls_ca;
  std::vector<std::string> sans;
  std::size_t history = 500;
  std::chrono::seconds watch_timeout{1800};
  std::chrono::seconds bookmark_interval{60};
  LogLevel log_level = LogLevel::info;
};

struct ParsedOptions {
  std::optional<Options> options;
  std::string error;  // one line naming the option, when options is empty and !help
  bool help = false;
};

ParsedOptions parse_options(const std::vector<std::string>& args);
std::string usage();

}  // namespace distls::k8s_double
