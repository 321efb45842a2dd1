// The YAML that kubeconfig files are written in, read into a boost::json::value.
//
// libyaml (Debian's libyaml-0-2) does the reading: it is the parser kubectl's own YAML
// library (go-yaml) was ported from, so a file reads here as kubectl reads it. This adapter
// turns its events into JSON and refuses, by name, with the line and column, what a
// kubeconfig has no use for or what JSON cannot hold, rather than guessing. JSON is
// accepted too (it is YAML's flow style), within what YAML 1.1 makes of it (below).
//
// Refused: anchors and aliases, tags, directives, a second document, content on the
// "---" line, "? " complex keys, collections as keys, "key: value" pairs inside a flow
// sequence, duplicate keys, a comment not separated from its value by whitespace, and
// whatever libyaml itself refuses (bad indentation, tabs as indentation, unterminated
// scalars and collections, unknown escapes, ...), with its reason reworded to say what
// to change. Also refused, since YAML 1.1 (libyaml, kubectl) reads them differently from
// JSON and YAML 1.2: DEL and the C1 control characters, and U+2028/U+2029, which YAML 1.1
// takes for line breaks; and \u escapes of UTF-16 surrogates, which it does not pair
// (write \U0001F600, or the character itself).
//
// Typing follows the YAML 1.2 core schema, cut down to what kubeconfig needs: a plain
// (unquoted) true/True/TRUE and false/False/FALSE are booleans, null/Null/NULL/~ and an
// empty value are null, a decimal integer that fits int64 is an int64; every other scalar,
// and every quoted one, is a string (so 1.5, 0x1F and yes stay text). Mapping keys are
// strings.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string_view>

#include <boost/json/value.hpp>

namespace distls {

struct YamlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Bounds that keep hostile input from exhausting memory; a kubeconfig is a few KiB and
// about 6 levels deep.
inline constexpr std::size_t kYamlMaxInput = 4 * 1024 * 1024;
inline constexpr int kYamlMaxDepth = 64;

// Throws YamlError("line L, column C: reason") on anything refused above, malformed UTF-8,
// control characters, or input past the bounds. Columns count characters, as editors do.
// Empty input (or only comments) is null.
boost::json::value parse_yaml(std::string_view text);

}  // namespace distls
