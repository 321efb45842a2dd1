// The YAML that kubeconfig files are written in, read into a boost::json::value.
//
// Not a YAML library: a strict reader for the subset that kubectl, kind, k3s, EKS/GKE/AKS
// tooling and people editing by hand produce, which refuses everything else by name with
// the line and column, rather than guessing. JSON is accepted too (it is YAML's flow style).
//
// Accepted: block mappings and sequences (including "- key: value" items and a sequence at
// its key's indentation), plain, 'single'- and "double"-quoted scalars (all YAML escapes,
// multi-line folding), literal and folded block scalars (| and >, with chomping and
// indentation indicators), flow sequences and mappings (which may span lines, so JSON
// documents work), # comments, a leading "---" and a trailing "...".
// Refused: anchors and aliases, tags, directives, a second document, "? " complex keys,
// collections as keys, tabs as indentation, duplicate keys, inconsistent indentation.
//
// Typing follows the YAML 1.2 core schema, cut down to what kubeconfig needs: a plain
// (unquoted) true/True/TRUE and false/False/FALSE are booleans, null/Null/NULL/~ and an
// empty value are null, a decimal integer that fits int64 is an int64; every other scalar,
// and every quoted one, is a string (so 1.5 and 0x1F stay text). Mapping keys are strings.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string_view>

#include <boost/json/value.hpp>

namespace distls {

struct YamlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Bounds that keep hostile input from exhausting the stack or memory; a kubeconfig is a
// few KiB and about 6 levels deep.
inline constexpr std::size_t kYamlMaxInput = 4 * 1024 * 1024;
inline constexpr int kYamlMaxDepth = 64;

// Throws YamlError("line L, column C: reason") on anything outside the subset above,
// malformed UTF-8, control characters, or input past the bounds. Empty input is null.
boost::json::value parse_yaml(std::string_view text);

}  // namespace distls
