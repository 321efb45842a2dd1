// `distls ca init` and `distls ca issue`: a local CA for standing a cluster up by hand.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace distls {

// argv after "ca"; returns the process exit status. Errors print one line to stderr.
int run_ca_command(const std::vector<std::string>& args);

// The same, with output and errors going to the given streams (tests capture them).
int run_ca_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace distls
