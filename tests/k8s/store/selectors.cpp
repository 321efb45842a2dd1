#include "tests/k8s/store/selectors.hpp"

#include <algorithm>
#include <cctype>

namespace distls::k8s_double {

namespace {

// fields.splitTerms: commas split terms unless escaped with a backslash.
std::vector<std::string> split_terms(std::string_view s) {
  std::vector<std::string> terms;
  std::string cur;
  bool escaped = false;
  for (char c : s) {
    if (escaped) {
      cur += '\\';
      cur += c;
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == ',') {
      terms.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (escaped) cur += '\\';
  terms.push_back(std::move(cur));
  return terms;
}

// fields.UnescapeValue: only \\ \, \= are escapes; anything else after a backslash is invalid.
bool unescape(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      if (s[i] == ',' || s[i] == '=') return false;  // must have been escaped
      out += s[i];
      continue;
    }
    if (++i == s.size()) return false;
    if (s[i] != '\\' && s[i] != ',' && s[i] != '=') return false;
    out += s[i];
  }
  return true;
}

// The first unescaped occurrence of one of the operators, longest first at each position.
bool split_term(const std::string& term, std::string& lhs, std::string& op, std::string& rhs) {
  for (std::size_t i = 0; i < term.size(); ++i) {
    if (term[i] == '\\') {
      ++i;
      continue;
    }
    for (const char* candidate : {"!=", "==", "="}) {
      const std::string_view o(candidate);
      if (term.compare(i, o.size(), o) == 0) {
        lhs = term.substr(0, i);
        op = std::string(o);
        rhs = term.substr(i + o.size());
        return true;
      }
    }
  }
  return false;
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_' || c == '/';
}

bool is_value_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
}

}  // namespace

Expected<FieldSelector> FieldSelector::parse(std::string_view text, const std::set<std::string>& supported) {
  FieldSelector sel;
  if (text.empty()) return sel;
  for (const auto& term : split_terms(text)) {
    if (term.empty()) continue;
    std::string lhs, op, rhs;
    if (!split_term(term, lhs, op, rhs))
      return bad_request("invalid selector: '" + std::string(text) + "'; can't understand '" + term + "'");
    Term t;
    t.key = lhs;
    t.equal = op != "!=";
    if (!unescape(rhs, t.value))
      return bad_request("invalid selector: '" + std::string(text) + "'; invalid escape sequence in '" + rhs +
                         "'");
    if (!supported.contains(t.key)) return bad_request("field label not supported: " + t.key);
    sel.terms_.push_back(std::move(t));
  }
  return sel;
}

bool FieldSelector::matches(const FieldSet& fields) const {
  for (const auto& t : terms_) {
    const auto it = fields.find(t.key);
    const std::string& have = it == fields.end() ? std::string() : it->second;
    if ((have == t.value) != t.equal) return false;
  }
  return true;
}

namespace {

class LabelParser {
 public:
  explicit LabelParser(std::string_view s) : s_(s) {}

  Expected<LabelSelector::Requirement> requirement() {
    using Op = LabelSelector::Op;
    skip_ws();
    LabelSelector::Requirement r;
    if (peek() == '!') {
      ++pos_;
      skip_ws();
      r.key = word(is_key_char);
      if (r.key.empty()) return fail("key expected after '!'");
      r.op = Op::does_not_exist;
      return r;
    }
    r.key = word(is_key_char);
    if (r.key.empty()) return fail("key expected");
    skip_ws();
    if (at_end() || peek() == ',') {
      r.op = Op::exists;
      return r;
    }
    if (take("==") || take("=")) {
      r.op = Op::equals;
    } else if (take("!=")) {
      r.op = Op::not_equals;
    } else {
      const std::string kw = word([](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
      if (kw == "in")
        r.op = Op::in;
      else if (kw == "notin")
        r.op = Op::not_in;
      else
        return fail("found '" + kw + "', expected: in, notin, =, ==, !=");
      skip_ws();
      if (!take("(")) return fail("'(' expected after " + kw);
      for (;;) {
        skip_ws();
        r.values.push_back(word(is_value_char));
        skip_ws();
        if (take(")")) break;
        if (!take(",")) return fail("',' or ')' expected in the value set");
      }
      return r;
    }
    skip_ws();
    r.values.push_back(word(is_value_char));
    return r;
  }

  bool at_end() {
    skip_ws();
    return pos_ >= s_.size();
  }
  bool take(std::string_view t) {
    if (s_.substr(pos_, t.size()) != t) return false;
    pos_ += t.size();
    return true;
  }
  ApiError fail(const std::string& why) const {
    return bad_request("unable to parse requirement: " + why + " at position " + std::to_string(pos_) +
                       " of the label selector " + go_quote(s_));
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])) != 0) ++pos_;
  }
  template <class Pred>
  std::string word(Pred ok) {
    const auto start = pos_;
    while (pos_ < s_.size() && ok(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

Expected<LabelSelector> LabelSelector::parse(std::string_view text) {
  LabelSelector sel;
  LabelParser p(text);
  if (p.at_end()) return sel;
  for (;;) {
    auto r = p.requirement();
    if (!r) return r.error();
    sel.reqs_.push_back(std::move(*r));
    if (p.at_end()) break;
    if (!p.take(",")) return p.fail("',' expected between requirements");
  }
  return sel;
}

bool LabelSelector::matches(const LabelSet& labels) const {
  for (const auto& r : reqs_) {
    const auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const auto in_values = [&] {
      return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    };
    switch (r.op) {
      case Op::exists:
        if (!has) return false;
        break;
      case Op::does_not_exist:
        if (has) return false;
        break;
      case Op::equals:
      case Op::in:
        if (!in_values()) return false;
        break;
      // A missing label satisfies != and notin, as in k8s.io/apimachinery/pkg/labels.
      case Op::not_equals:
      case Op::not_in:
        if (in_values()) return false;
        break;
    }
  }
  return true;
}

}  // namespace distls::k8s_double
