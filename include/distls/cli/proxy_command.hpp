// `distls proxy`: the command line around the Sidecar, its signals and its shutdown.
#pragma once

#include <string>
#include <vector>

namespace distls {

int run_proxy_command(const std::vector<std::string>& args);

}  // namespace distls
