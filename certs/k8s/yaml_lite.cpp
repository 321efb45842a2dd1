#include "distls/k8s/yaml_lite.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

namespace distls {
namespace {

namespace json = boost::json;

// What peek() returns at the end of a line and past the last line. check_text() refuses
// NUL and line breaks never reach a line's text, so neither can be mistaken for content.
constexpr char kEol = '\n';
constexpr char kEof = '\0';

constexpr const char* kInlineMapping =
    "mapping values are not allowed here (a value cannot be a 'key: value' pair on its key's line)";

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_sep(char c) { return c == ' ' || c == '\t' || c == kEol || c == kEof; }
bool is_flow_indicator(char c) { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'; }

[[noreturn]] void fail_at(std::size_t line, std::size_t col, const std::string& why) {
  throw YamlError("line " + std::to_string(line + 1) + ", column " + std::to_string(col + 1) + ": " + why);
}

// A character for an error message: itself when printable ASCII, else its byte value.
std::string show(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", u);
  return buf;
}

// A key for an error message: short, with control characters (which escapes can produce) made visible.
std::string show_key(const std::string& key) {
  std::string out = "\"";
  for (std::size_t i = 0; i < key.size() && i < 60; ++i) {
    const auto u = static_cast<unsigned char>(key[i]);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += key[i];
    }
  }
  if (key.size() > 60) out += "...";
  return out + "\"";
}

// Encoding is checked before parsing so that the parser sees only valid UTF-8 without
// C0 control characters other than tab, LF and CRLF, as YAML requires of its input. DEL
// passes, unlike in YAML, because JSON (and so a JSON kubeconfig) allows it unescaped.
void check_text(std::string_view text) {
  std::size_t line = 0, line_start = 0;
  auto bad = [&](std::size_t i, const std::string& why) { fail_at(line, i - line_start, why); };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
        continue;
      }
      bad(i, "a carriage return not followed by a line feed");
    }
    if (c == '\t' || (c >= 0x20 && c < 0x80)) {
      ++i;
      continue;
    }
    if (c < 0x20) bad(i, "control character " + show(static_cast<char>(c)) + " is not allowed");
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      bad(i, "invalid UTF-8");
    }
    if (len > text.size() - i) bad(i, "invalid UTF-8 (truncated sequence)");
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xc0) != 0x80) bad(i, "invalid UTF-8");
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) bad(i, "invalid UTF-8");
    i += len;
  }
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  lines.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  for (std::size_t start = 0;;) {
    const std::size_t nl = text.find('\n', start);
    std::string_view l = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    lines.push_back(l);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  // The final line break ends the last line rather than starting an empty one, which
  // would otherwise count as a kept trailing newline in a "|+" block scalar.
  if (!text.empty() && text.back() == '\n') lines.pop_back();
  return lines;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// The YAML 1.2 core schema, minus floats and non-decimal integers, which kubeconfig
// never uses and which would otherwise turn strings such as versions into numbers.
json::value resolve_plain(const std::string& s) {
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!digits.empty() && std::all_of(digits.begin(), digits.end(), digit)) {
    // from_chars takes no '+'; out-of-range integers stay strings rather than failing.
    const char* first = s.data() + (s[0] == '+' ? 1 : 0);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(first, s.data() + s.size(), v);
    if (ec == std::errc{} && end == s.data() + s.size()) return v;
  }
  return json::string(s);
}

class Parser {
 public:
  Parser(std::vector<std::string_view> lines, bool last_line_ends)
      : lines_(std::move(lines)), last_line_ends_(last_line_ends) {}
  json::value document();

 private:
  std::vector<std::string_view> lines_;
  bool last_line_ends_;  // whether the input's last line has a line break, which a block scalar keeps
  std::size_t ln_ = 0;   // current line
  std::size_t col_ = 0;  // current byte in it

  bool eof() const { return ln_ >= lines_.size(); }
  std::string_view line() const { return lines_[ln_]; }
  char peek(std::size_t ahead = 0) const {
    if (eof()) return kEof;
    return col_ + ahead < lines_[ln_].size() ? lines_[ln_][col_ + ahead] : kEol;
  }
  bool at_eol() const { return peek() == kEol || peek() == kEof; }
  // YAML only starts a comment at a '#' that follows whitespace or begins the line.
  bool comment_here() const { return peek() == '#' && (col_ == 0 || is_blank(lines_[ln_][col_ - 1])); }
  bool at_seq_entry() const { return peek() == '-' && is_sep(peek(1)); }
  bool at_marker(std::string_view m) const {
    if (eof()) return false;
    const auto l = line();
    return l.substr(0, 3) == m && (l.size() == 3 || is_blank(l[3]));
  }
  void skip_blanks() {
    while (is_blank(peek())) ++col_;
  }
  void next_line() {
    if (ln_ < lines_.size()) ++ln_;
    col_ = 0;
  }
  [[noreturn]] void fail(const std::string& why) const { fail_at(ln_, col_, why); }
  void check_depth(int depth) const {
    if (depth > kYamlMaxDepth) fail("nested deeper than " + std::to_string(kYamlMaxDepth) + " levels");
  }

  int next_indent();
  void finish_line();
  void check_node_start() const;
  std::size_t mapping_colon() const;
  json::value block_node(int parent, int depth, bool allow_collection);
  json::value block_mapping(int n, int depth);
  json::value block_sequence(int n, int depth);
  std::string mapping_key();
  json::value plain_block(int parent);
  std::size_t plain_end(bool& comment) const;
  json::value block_scalar(int parent);
  std::string quoted();
  void fold(std::string& out, std::size_t open_ln, std::size_t open_col, bool escaped);
  std::uint32_t hex_digits(int count, char escape);
  json::value flow_node(int depth);
  void skip_flow_space(std::size_t open_ln, std::size_t open_col);
  std::string flow_plain_text();
};

// From the start of the current line, skips blank and comment-only lines and returns the
// indentation of the next line with content, leaving col_ on that content. -1 at the end
// of input or on a document marker, which ends every block collection however deep.
int Parser::next_indent() {
  col_ = 0;
  for (; !eof(); next_line()) {
    const auto l = line();
    std::size_t i = 0;
    while (i < l.size() && l[i] == ' ') ++i;
    std::size_t j = i;
    while (j < l.size() && is_blank(l[j])) ++j;
    if (j == l.size() || l[j] == '#') continue;
    if (j != i) {
      col_ = i;
      fail("a tab character in indentation (YAML indents with spaces only)");
    }
    if (at_marker("---") || at_marker("...")) return -1;
    col_ = i;
    return static_cast<int>(i);
  }
  col_ = 0;
  return -1;
}

// After a complete node, only blanks and a comment may remain on its line.
void Parser::finish_line() {
  skip_blanks();
  if (!at_eol() && !comment_here()) {
    if (peek() == '#') fail("a comment needs whitespace before '#'");
    fail("unexpected " + show(peek()) + " after the value");
  }
  next_line();
}

// Characters that cannot start a plain scalar, named by the YAML feature they introduce,
// so that refusing a feature reads as such and not as a syntax error.
void Parser::check_node_start() const {
  const char c = peek(), c1 = peek(1);
  switch (c) {
    case '-':
      if (is_sep(c1)) fail("a block sequence entry ('- ') is not allowed here");
      break;
    case '&': fail("anchors (&) are not supported");
    case '*': fail("aliases (*) are not supported");
    case '!': fail("tags (!) are not supported");
    case '?':
      if (is_sep(c1) || is_flow_indicator(c1)) fail("complex mapping keys ('? ') are not supported");
      break;
    case '%':
    case '@':
    case '`':
      fail("a plain scalar cannot start with " + show(c) + "; quote it");
    case ',':
    case '[':
    case ']':
    case '{':
    case '}':
    case '#':
    case '|':
    case '>':
      fail("unexpected " + show(c));
    default:
      break;
  }
}

// The ':' that makes the rest of the current line (from col_) a "key: value" pair, or npos.
std::size_t Parser::mapping_colon() const {
  const auto l = line();
  for (std::size_t i = col_; i < l.size(); ++i) {
    if (l[i] == ':' && (i + 1 == l.size() || is_blank(l[i + 1]))) return i;
    if (l[i] == '#' && i > col_ && is_blank(l[i - 1])) break;
  }
  return std::string_view::npos;
}

json::value Parser::document() {
  int c = next_indent();
  if (c == 0 && peek() == '%') fail("directives (%YAML, %TAG) are not supported");
  if (c < 0 && at_marker("---")) {
    col_ = 3;
    skip_blanks();
    if (!at_eol() && !comment_here()) {
      fail("content on the '---' line is not supported; start it on the next line");
    }
    next_line();
    c = next_indent();
  }
  json::value root;
  bool ended = false;
  if (c >= 0) {
    root = block_node(-1, 1, true);
    c = next_indent();
  }
  // Only comments and more end markers may follow: anything else is a second document
  // or, more likely, a line whose indentation matches no enclosing block.
  while (c < 0 && at_marker("...")) {
    col_ = 3;
    finish_line();
    ended = true;
    c = next_indent();
  }
  if (c < 0 && at_marker("---")) {
    fail("a second document ('---') is not supported; a kubeconfig is one document");
  }
  if (c >= 0) {
    fail(ended ? "content after the document end marker '...'"
               : "unexpected content after the top-level node (is the indentation consistent?)");
  }
  return root;
}

// A node whose first character is at col_ (at a line's indentation, or after "- " or
// "key: "). `parent` is the indentation of the enclosing block collection (-1 at the top):
// continuation lines of scalars must be indented past it. `allow_collection` is false for
// a value on its key's line, where YAML allows neither "a: b: c" nor "a: - b".
json::value Parser::block_node(int parent, int depth, bool allow_collection) {
  check_depth(depth);
  const int n = static_cast<int>(col_);
  const char c = peek();
  if (c == '-' && is_sep(peek(1))) {
    if (!allow_collection) {
      fail("a block sequence cannot start on its key's line; put the '- ' items on the next lines");
    }
    return block_sequence(n, depth);
  }
  if (c == ':' && is_sep(peek(1))) fail("a mapping key is missing before ':'");
  if (c == '|' || c == '>') return block_scalar(parent);
  if (c == '[' || c == '{') {
    json::value v = flow_node(depth);
    skip_blanks();
    if (peek() == ':') fail("a flow collection as a mapping key is not supported");
    finish_line();
    return v;
  }
  if (c == '"' || c == '\'') {
    const std::size_t ln = ln_, col = col_;
    std::string s = quoted();
    if (ln_ == ln) {
      skip_blanks();
      if (peek() == ':' && is_sep(peek(1))) {
        if (!allow_collection) fail(kInlineMapping);
        col_ = col;
        return block_mapping(n, depth);
      }
    }
    finish_line();
    return json::string(s);
  }
  check_node_start();
  if (const std::size_t colon = mapping_colon(); colon != std::string_view::npos) {
    if (!allow_collection) {
      col_ = colon;
      fail(kInlineMapping);
    }
    return block_mapping(n, depth);
  }
  return plain_block(parent);
}

json::value Parser::block_mapping(int n, int depth) {
  json::object obj;
  for (;;) {
    const std::size_t key_ln = ln_, key_col = col_;
    std::string key = mapping_key();
    if (obj.contains(key)) fail_at(key_ln, key_col, "duplicate key " + show_key(key));
    skip_blanks();
    json::value v;
    int c;
    if (at_eol() || comment_here()) {
      next_line();
      c = next_indent();
      // A sequence may sit at its key's own indentation, as kubectl writes "clusters:\n- name: x".
      if (c > n || (c == n && at_seq_entry())) {
        v = block_node(n, depth + 1, true);
        c = next_indent();
      }
    } else {
      v = block_node(n, depth + 1, false);
      c = next_indent();
    }
    obj.emplace(key, std::move(v));
    if (c < n) return obj;
    if (c > n) {
      fail("unexpected indentation (" + std::to_string(c) + " spaces; the keys of this mapping have " +
           std::to_string(n) + ")");
    }
  }
}

// The key at col_ of a mapping entry, leaving col_ after its ':'.
std::string Parser::mapping_key() {
  std::string key;
  if (peek() == '"' || peek() == '\'') {
    const std::size_t ln = ln_, col = col_;
    key = quoted();
    if (ln_ != ln) fail_at(ln, col, "a mapping key must be on one line");
    skip_blanks();
  } else {
    if (at_seq_entry()) {
      fail("a sequence item where a mapping key was expected (is the indentation consistent?)");
    }
    if (peek() == '[' || peek() == '{') fail("a flow collection as a mapping key is not supported");
    check_node_start();
    const std::size_t colon = mapping_colon();
    if (colon == std::string_view::npos || colon == col_) {
      fail("expected a 'key: value' entry at this indentation, like the mapping's other keys");
    }
    std::size_t end = colon;
    while (end > col_ && is_blank(line()[end - 1])) --end;
    key.assign(line().substr(col_, end - col_));
    col_ = colon;
  }
  if (peek() != ':' || !is_sep(peek(1))) fail("expected ': ' after the mapping key");
  ++col_;
  return key;
}

json::value Parser::block_sequence(int n, int depth) {
  json::array arr;
  for (;;) {
    ++col_;  // the '-'
    while (peek() == ' ') ++col_;
    if (peek() == '\t') {
      // The item's column is its indentation, which a tab leaves undefined.
      skip_blanks();
      if (!at_eol() && !comment_here()) fail("a tab after '-'; separate items from '-' with spaces");
    }
    json::value v;
    int c;
    if (at_eol() || comment_here()) {
      next_line();
      c = next_indent();
      if (c > n) {
        v = block_node(n, depth + 1, true);
        c = next_indent();
      }
    } else {
      v = block_node(n, depth + 1, true);
      c = next_indent();
    }
    arr.push_back(std::move(v));
    if (c < n) return arr;
    if (c > n) {
      fail("unexpected indentation (" + std::to_string(c) + " spaces; the '-' of this sequence has " +
           std::to_string(n) + ")");
    }
    if (!at_seq_entry()) return arr;  // a key of the mapping this sequence is a value of
  }
}

// End of the plain scalar text from col_ on this line, trailing blanks excluded; sets
// `comment` when a comment follows it, since a comment ends a multi-line plain scalar.
std::size_t Parser::plain_end(bool& comment) const {
  const auto l = line();
  std::size_t i = col_;
  comment = false;
  for (; i < l.size(); ++i) {
    if (l[i] == '#' && i > col_ && is_blank(l[i - 1])) {
      comment = true;
      break;
    }
  }
  while (i > col_ && is_blank(l[i - 1])) --i;
  return i;
}

json::value Parser::plain_block(int parent) {
  bool comment = false;
  std::size_t end = plain_end(comment);
  std::string text(line().substr(col_, end - col_));
  next_line();
  // Continuation lines are those indented past the parent; each line break folds to a
  // space, and each blank line between them to a newline.
  while (!comment && !eof()) {
    std::size_t l = ln_, blanks = 0;
    while (l < lines_.size() &&
           std::all_of(lines_[l].begin(), lines_[l].end(), [](char ch) { return is_blank(ch); })) {
      ++l;
      ++blanks;
    }
    if (l == lines_.size()) break;
    const auto s = lines_[l];
    std::size_t i = 0;
    while (i < s.size() && s[i] == ' ') ++i;
    if (static_cast<int>(i) <= parent || s[i] == '\t' || s[i] == '#') break;
    ln_ = l;
    col_ = 0;
    if (at_marker("---") || at_marker("...")) break;
    col_ = i;
    if (const std::size_t colon = mapping_colon(); colon != std::string_view::npos) {
      col_ = colon;
      fail("mapping values are not allowed here (is the indentation right?)");
    }
    end = plain_end(comment);
    text += blanks == 0 ? std::string(" ") : std::string(blanks, '\n');
    text.append(s.substr(i, end - i));
    next_line();
  }
  return resolve_plain(text);
}

// A literal (|) or folded (>) block scalar, whose header is at col_. Follows the YAML
// 1.2 rules for indentation detection, line folding and chomping.
json::value Parser::block_scalar(int parent) {
  const bool folded = peek() == '>';
  ++col_;
  char chomp = 0;
  int explicit_indent = 0;
  for (int k = 0; k < 2; ++k) {
    const char c = peek();
    if ((c == '+' || c == '-') && chomp == 0) {
      chomp = c;
    } else if (c >= '1' && c <= '9' && explicit_indent == 0) {
      explicit_indent = c - '0';
    } else {
      break;
    }
    ++col_;
  }
  const char* header_help =
      "a block scalar header is '|' or '>', then optionally a chomping indicator (+ or -) and an "
      "indentation indicator (1-9), then only a comment";
  if (!is_sep(peek())) fail(header_help);
  skip_blanks();
  if (!at_eol() && !comment_here()) fail(header_help);
  next_line();

  const std::size_t min_indent = static_cast<std::size_t>(std::max(parent + 1, 1));
  std::size_t indent = 0;
  if (explicit_indent != 0) {
    indent = min_indent + static_cast<std::size_t>(explicit_indent) - 1;
  } else {
    // The first non-empty line sets the indentation; a more indented empty line before
    // it makes that line (and the scalar) end early, which the caller then rejects.
    std::size_t widest = 0;
    for (std::size_t l = ln_; l < lines_.size(); ++l) {
      const auto s = lines_[l];
      std::size_t i = 0;
      while (i < s.size() && s[i] == ' ') ++i;
      widest = std::max(widest, i);
      if (i < s.size()) break;
    }
    indent = std::max(min_indent, widest);
  }

  std::string out, breaks;
  // Consumes empty lines (at most `indent` spaces) into `breaks`, leaving col_ after
  // the indentation of the next line; col_ == indent there means the line is content.
  auto scan_breaks = [&] {
    for (; !eof(); next_line()) {
      const auto s = line();
      std::size_t i = 0;
      while (i < indent && i < s.size() && s[i] == ' ') ++i;
      if (i < s.size()) {
        col_ = i;
        return;
      }
      // Blanks ending the input without a line break are not an empty line.
      if (ln_ + 1 < lines_.size() || last_line_ends_) breaks += '\n';
    }
  };
  scan_breaks();
  std::string line_break;
  while (!eof() && col_ == indent) {
    out += breaks;
    const auto s = line();
    const bool leading_non_blank = !is_blank(s[col_]);
    out.append(s.substr(col_));
    line_break = ln_ + 1 < lines_.size() || last_line_ends_ ? "\n" : "";
    next_line();
    breaks.clear();
    scan_breaks();
    if (eof() || col_ != indent) break;
    // Folding joins two lines of ordinary text with a space; lines that start with
    // blanks ("more indented") and empty lines keep their line breaks.
    if (folded && leading_non_blank && !is_blank(line()[col_])) {
      if (breaks.empty()) out += ' ';
    } else {
      out += line_break;
    }
  }
  if (chomp != '-') out += line_break;
  if (chomp == '+') out += breaks;
  col_ = 0;
  return json::string(out);
}

// A single- or double-quoted scalar starting at col_; leaves col_ after the closing quote.
std::string Parser::quoted() {
  const std::size_t open_ln = ln_, open_col = col_;
  const char q = peek();
  ++col_;
  std::string out;
  std::size_t keep = 0;  // out[0, keep) came from escapes or folding: not trailing blanks to trim
  for (;;) {
    const char c = peek();
    if (c == kEol || c == kEof) {
      std::size_t end = out.size();
      while (end > keep && is_blank(out[end - 1])) --end;
      out.resize(end);
      fold(out, open_ln, open_col, false);
      keep = out.size();
      continue;
    }
    if (q == '\'') {
      ++col_;
      if (c != '\'') {
        out += c;
      } else if (peek() == '\'') {
        out += '\'';
        ++col_;
        keep = out.size();
      } else {
        return out;
      }
      continue;
    }
    if (c == '"') {
      ++col_;
      return out;
    }
    if (c != '\\') {
      out += c;
      ++col_;
      continue;
    }
    const char e = peek(1);
    if (e == kEol) {
      ++col_;
      fold(out, open_ln, open_col, true);
      keep = out.size();
      continue;
    }
    col_ += 2;
    switch (e) {
      case '0': out += '\0'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 't':
      case '\t': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'v': out += '\v'; break;
      case 'f': out += '\f'; break;
      case 'r': out += '\r'; break;
      case 'e': out += '\x1b'; break;
      case ' ': out += ' '; break;
      case '"': out += '"'; break;
      case '/': out += '/'; break;
      case '\\': out += '\\'; break;
      case 'N': append_utf8(out, 0x85); break;
      case '_': append_utf8(out, 0xa0); break;
      case 'L': append_utf8(out, 0x2028); break;
      case 'P': append_utf8(out, 0x2029); break;
      case 'x': append_utf8(out, hex_digits(2, 'x')); break;
      case 'U': {
        const std::uint32_t cp = hex_digits(8, 'U');
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail("\\U escape is not a Unicode scalar value");
        append_utf8(out, cp);
        break;
      }
      case 'u': {
        std::uint32_t cp = hex_digits(4, 'u');
        // JSON writes characters beyond the BMP as surrogate pairs; YAML accepts JSON.
        if (cp >= 0xdc00 && cp <= 0xdfff) fail("\\u escape is an unpaired low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (peek() != '\\' || peek(1) != 'u') fail("\\u escape is a high surrogate without its low half");
          col_ += 2;
          const std::uint32_t low = hex_digits(4, 'u');
          if (low < 0xdc00 || low > 0xdfff) fail("\\u escape is a high surrogate without its low half");
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        append_utf8(out, cp);
        break;
      }
      default:
        col_ -= 2;
        fail("unknown escape '\\' followed by " + show(e) + " in a double-quoted scalar");
    }
    keep = out.size();
  }
}

// At the end of a line inside a quoted scalar: moves to the next line with content and
// appends what the line break(s) fold to. After an escaped break ('\' at the end of the
// line) the break itself vanishes; otherwise one break is a space and n+1 are n newlines.
void Parser::fold(std::string& out, std::size_t open_ln, std::size_t open_col, bool escaped) {
  std::size_t breaks = 0;
  for (;;) {
    if (ln_ + 1 >= lines_.size()) fail_at(open_ln, open_col, "unterminated quoted scalar");
    next_line();
    if (at_marker("---") || at_marker("...")) fail("a document marker inside a quoted scalar");
    skip_blanks();
    if (!at_eol()) break;
    ++breaks;
  }
  if (breaks > 0) {
    out.append(breaks, '\n');
  } else if (!escaped) {
    out += ' ';
  }
}

std::uint32_t Parser::hex_digits(int count, char escape) {
  std::uint32_t v = 0;
  for (int k = 0; k < count; ++k) {
    const char c = peek();
    std::uint32_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<std::uint32_t>(c - 'A' + 10);
    } else {
      fail(std::string("\\") + escape + " escape needs " + std::to_string(count) + " hex digits");
    }
    v = (v << 4) | d;
    ++col_;
  }
  return v;
}

// Between the tokens of a flow collection: blanks, comments and line breaks. Lines inside
// a flow collection need no particular indentation, as in libyaml, which kubectl's YAML
// library was ported from.
void Parser::skip_flow_space(std::size_t open_ln, std::size_t open_col) {
  for (;;) {
    skip_blanks();
    if (comment_here()) col_ = line().size();
    if (!at_eol()) return;
    if (ln_ + 1 >= lines_.size()) fail_at(open_ln, open_col, "unterminated flow collection");
    next_line();
    if (at_marker("---") || at_marker("...")) fail("a document marker inside a flow collection");
  }
}

json::value Parser::flow_node(int depth) {
  check_depth(depth);
  const std::size_t open_ln = ln_, open_col = col_;
  const char c = peek();
  if (c == '[') {
    ++col_;
    json::array arr;
    for (;;) {
      skip_flow_space(open_ln, open_col);
      if (peek() == ']') break;
      arr.push_back(flow_node(depth + 1));
      skip_flow_space(open_ln, open_col);
      if (peek() == ',') {
        ++col_;
        continue;
      }
      if (peek() == ']') break;
      if (peek() == ':') fail("'key: value' pairs inside a flow sequence are not supported");
      fail("expected ',' or ']' in a flow sequence, found " + show(peek()));
    }
    ++col_;
    return arr;
  }
  if (c == '{') {
    ++col_;
    json::object obj;
    for (;;) {
      skip_flow_space(open_ln, open_col);
      if (peek() == '}') break;
      const std::size_t key_ln = ln_, key_col = col_;
      std::string key;
      if (peek() == '"' || peek() == '\'') {
        key = quoted();
      } else {
        if (peek() == '[' || peek() == '{') fail("a flow collection as a mapping key is not supported");
        check_node_start();
        key = flow_plain_text();
      }
      if (obj.contains(key)) fail_at(key_ln, key_col, "duplicate key " + show_key(key));
      skip_flow_space(open_ln, open_col);
      json::value v;
      if (peek() == ':') {
        ++col_;
        skip_flow_space(open_ln, open_col);
        if (peek() != ',' && peek() != '}') v = flow_node(depth + 1);
      }
      obj.emplace(key, std::move(v));
      skip_flow_space(open_ln, open_col);
      if (peek() == ',') {
        ++col_;
        continue;
      }
      if (peek() == '}') break;
      fail("expected ',' or '}' in a flow mapping, found " + show(peek()));
    }
    ++col_;
    return obj;
  }
  if (c == '"' || c == '\'') return json::string(quoted());
  if (c == '-' && (is_sep(peek(1)) || is_flow_indicator(peek(1)))) {
    fail("a block sequence cannot appear inside a flow collection");
  }
  check_node_start();
  return resolve_plain(flow_plain_text());
}

// A plain scalar inside a flow collection, ended by a flow indicator, a ':' that
// separates a value, or a comment. It may continue on the next lines, folded as in block
// context; continuation lines need no particular indentation inside a flow collection.
std::string Parser::flow_plain_text() {
  std::string text;
  for (;;) {
    const auto l = line();
    const std::size_t start = col_;
    std::size_t i = start;
    for (; i < l.size(); ++i) {
      const char c = l[i];
      if (is_flow_indicator(c)) break;
      if (c == ':' && (i + 1 == l.size() || is_blank(l[i + 1]) || is_flow_indicator(l[i + 1]))) break;
      if (c == '#' && i > start && is_blank(l[i - 1])) break;
    }
    std::size_t end = i;
    while (end > start && is_blank(l[end - 1])) --end;
    if (end == start) fail("unexpected " + show(peek()) + " in a flow collection");
    text.append(l.substr(start, end - start));
    col_ = end;
    if (i < l.size()) return text;
    // At the end of the line: the scalar goes on if the next line with content starts
    // with something that is not an indicator ending it.
    std::size_t next = ln_ + 1, blanks = 0;
    while (next < lines_.size() &&
           std::all_of(lines_[next].begin(), lines_[next].end(), [](char ch) { return is_blank(ch); })) {
      ++next;
      ++blanks;
    }
    if (next == lines_.size()) return text;
    const auto s = lines_[next];
    std::size_t j = 0;
    while (is_blank(s[j])) ++j;
    const char c = s[j];
    const char c1 = j + 1 < s.size() ? s[j + 1] : kEol;
    if (is_flow_indicator(c) || c == '#' || (c == ':' && (is_sep(c1) || is_flow_indicator(c1)))) return text;
    if (j == 0 && (s.substr(0, 3) == "---" || s.substr(0, 3) == "...") && (s.size() == 3 || is_blank(s[3]))) {
      return text;
    }
    ln_ = next;
    col_ = j;
    text += blanks == 0 ? std::string(" ") : std::string(blanks, '\n');
  }
}

}  // namespace

json::value parse_yaml(std::string_view text) {
  if (text.size() > kYamlMaxInput) {
    throw YamlError("input is " + std::to_string(text.size()) + " bytes, over the limit of " +
                    std::to_string(kYamlMaxInput));
  }
  check_text(text);
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);  // a UTF-8 byte order mark
  return Parser(split_lines(text), !text.empty() && text.back() == '\n').document();
}

}  // namespace distls
