// fieldSelector and labelSelector query parameters, with the grammar and matching rules of
// k8s.io/apimachinery/pkg/fields and k8s.io/apimachinery/pkg/labels.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tests/k8s/http/api_error.hpp"

namespace distls::k8s_double {

using FieldSet = std::map<std::string, std::string>;  // "spec.signerName" -> value
using LabelSet = std::map<std::string, std::string>;

// Comma-separated `key=value`, `key==value`, `key!=value` terms, all of which must hold.
// `\,` `\=` `\\` escape in values. Every key must be one the resource supports (the
// server answers 400 "field label not supported: K" otherwise).
class FieldSelector {
 public:
  struct Term {
    std::string key;
    bool equal;  // false for !=
    std::string value;
  };

  static Expected<FieldSelector> parse(std::string_view text, const std::set<std::string>& supported);

  bool empty() const { return terms_.empty(); }
  bool matches(const FieldSet& fields) const;
  const std::vector<Term>& terms() const { return terms_; }

 private:
  std::vector<Term> terms_;
};

// Comma-separated requirements: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
// `k` (exists), `!k` (does not exist).
class LabelSelector {
 public:
  enum class Op { equals, not_equals, in, not_in, exists, does_not_exist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };

  static Expected<LabelSelector> parse(std::string_view text);

  bool empty() const { return reqs_.empty(); }
  bool matches(const LabelSet& labels) const;
  const std::vector<Requirement>& requirements() const { return reqs_; }

 private:
  std::vector<Requirement> reqs_;
};

}  // namespace distls::k8s_double
