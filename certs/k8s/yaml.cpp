#include "distls/k8s/yaml.hpp"

#include <yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <new>
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

constexpr const char* kDirectives = "directives (%YAML, %TAG) are not supported";
constexpr const char* kComplexKey = "complex mapping keys ('? ') are not supported; write 'key: value'";
constexpr const char* kTabIndent = "a tab character in indentation (YAML indents with spaces only)";
constexpr const char* kAfterTopLevel =
    "unexpected content after the top-level node (is the indentation consistent?)";
constexpr const char* kAfterEnd = "content after the document end marker '...'";
constexpr const char* kMappingEntry =
    "expected a 'key: value' entry at this indentation, like the mapping's other keys";
constexpr const char* kLongKey = "a mapping key longer than 1024 characters (YAML's limit for a key without '? ')";
constexpr const char* kBlockScalarHeader =
    "a block scalar header is '|' or '>', then optionally a chomping indicator (+ or -) and an "
    "indentation indicator (1-9), then only a comment";

[[noreturn]] void fail_at(std::size_t line, std::size_t col, const std::string& why) {
  throw YamlError("line " + std::to_string(line + 1) + ", column " + std::to_string(col + 1) + ": " + why);
}
[[noreturn]] void fail_at(const yaml_mark_t& m, const std::string& why) { fail_at(m.line, m.column, why); }

std::string hex(std::uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*X", digits, static_cast<unsigned>(v));
  return buf;
}

// A byte for an error message: itself when printable ASCII, else its value.
std::string show(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string("'") + c + "'";
  return "0x" + hex(u, 2);
}

// A key for an error message: short, with control characters (which escapes can produce) made visible.
std::string show_key(const std::string& key) {
  std::string out = "\"";
  for (std::size_t i = 0; i < key.size() && i < 60; ++i) {
    const auto u = static_cast<unsigned char>(key[i]);
    out += u < 0x20 || u == 0x7f ? "\\x" + hex(u, 2) : std::string(1, key[i]);
  }
  if (key.size() > 60) out += "...";
  return out + "\"";
}

std::string spaces(std::size_t n) { return std::to_string(n) + (n == 1 ? " space" : " spaces"); }

std::size_t utf8_length(char lead) {
  const auto c = static_cast<unsigned char>(lead);
  return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

// The input is checked before libyaml sees it, so that a refusal has a line and a column
// (libyaml's reader gives only a byte offset) and so that what YAML 1.1 reads differently
// from JSON and YAML 1.2 is refused instead of silently read another way: DEL and the C1
// controls, which JSON allows raw and libyaml refuses, and NEL, LS and PS, which libyaml
// (like kubectl's go-yaml) takes for line breaks, folding a JSON string that holds one.
// Columns count characters, as libyaml's marks do.
void check_text(std::string_view text) {
  std::size_t line = 0, col = 0;
  auto bad = [&](const std::string& why) { fail_at(line, col, why); };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line, col = 0, ++i;
      continue;
    }
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
        continue;
      }
      bad("a carriage return not followed by a line feed");
    }
    if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
      ++i, ++col;
      continue;
    }
    if (c < 0x80) bad("control character " + show(static_cast<char>(c)) + " is not allowed");
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      bad("invalid UTF-8");
    }
    if (len > text.size() - i) bad("invalid UTF-8 (truncated sequence)");
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xc0) != 0x80) bad("invalid UTF-8");
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) bad("invalid UTF-8");
    if (cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
      bad("U+" + hex(cp, 4) + " is a line break to YAML 1.1 (libyaml, kubectl) but not to JSON or YAML 1.2; "
          "write it as \\u" + hex(cp, 4) + " inside double quotes");
    }
    if (cp < 0xa0) bad("control character U+" + hex(cp, 4) + " is not allowed");
    if (cp == 0xfffe || cp == 0xffff) bad("U+" + hex(cp, 4) + " is not a character");
    i += len, ++col;
  }
}

// The YAML 1.2 core schema, minus floats and non-decimal integers, which kubeconfig
// never uses and which would otherwise turn strings such as versions into numbers.
json::value resolve_plain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  std::string_view digits = s;
  if (digits[0] == '-' || digits[0] == '+') digits.remove_prefix(1);
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

bool quoted(yaml_scalar_style_t style) {
  return style == YAML_SINGLE_QUOTED_SCALAR_STYLE || style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

// libyaml's marks count characters (a CRLF counts two) while the checks below read bytes.
// The text is valid UTF-8 by then, so a mark's byte is found by stepping from the last one
// asked for; events come in text order, so the steps add up to one pass.
class Positions {
 public:
  explicit Positions(std::string_view text) : text_(text) {}

  std::size_t byte(const yaml_mark_t& m) {
    while (index_ < m.index && byte_ < text_.size()) {
      byte_ += utf8_length(text_[byte_]);
      ++index_;
    }
    while (index_ > m.index && byte_ > 0) {
      --byte_;
      while (byte_ > 0 && (static_cast<unsigned char>(text_[byte_]) & 0xc0) == 0x80) --byte_;
      --index_;
    }
    return std::min(byte_, text_.size());
  }
  // The byte at a mark, or '\0' at the end (the input holds no NUL: check_text).
  char at(const yaml_mark_t& m, std::size_t ahead = 0) {
    const std::size_t b = byte(m) + ahead;
    return b < text_.size() ? text_[b] : '\0';
  }
  // The character at a mark, for an error message.
  std::string describe(const yaml_mark_t& m) {
    const std::size_t b = byte(m);
    if (b >= text_.size()) return "the end of the input";
    const char c = text_[b];
    if (c == '\n' || c == '\r') return "the end of the line";
    if (c == '\t') return "a tab";
    if (c == ' ') return "a space";
    if (static_cast<unsigned char>(c) < 0x80) return show(c);
    return "'" + std::string(text_.substr(b, utf8_length(c))) + "'";
  }
  // Whether only blanks, line breaks and comments follow the mark.
  bool only_comments_after(const yaml_mark_t& m) {
    for (std::size_t i = byte(m); i < text_.size(); ++i) {
      const char c = text_[i];
      if (c == '#') {
        while (i < text_.size() && text_[i] != '\n') ++i;
      } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        return false;
      }
    }
    return true;
  }
  // The text of the mark's line before the mark.
  std::string_view line_before(const yaml_mark_t& m) {
    const std::size_t b = byte(m);
    const std::size_t start = text_.rfind('\n', b == 0 ? 0 : b - 1);
    const std::size_t from = start == std::string_view::npos || b == 0 ? 0 : start + 1;
    return text_.substr(from, b - from);
  }
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
  std::size_t index_ = 0, byte_ = 0;
};

// Pulls libyaml's events and builds the JSON value, refusing on the way what the header
// lists; libyaml's own errors are reworded by fail_libyaml().
class Reader {
 public:
  explicit Reader(std::string_view text) : pos_(text) {
    if (yaml_parser_initialize(&parser_) == 0) throw std::bad_alloc();
    yaml_parser_set_encoding(&parser_, YAML_UTF8_ENCODING);
    // libyaml asserts a non-null input, which an empty string_view need not have.
    static constexpr unsigned char kNothing[1] = {0};
    yaml_parser_set_input_string(
        &parser_, text.empty() ? kNothing : reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~Reader() {
    drop();
    yaml_parser_delete(&parser_);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  json::value document();

 private:
  struct Open {
    bool flow;
    yaml_mark_t start;
  };

  Positions pos_;
  yaml_parser_t parser_{};
  yaml_event_t ev_{};
  bool have_event_ = false;
  // The event before the current one, for errors that libyaml reports at the next token.
  yaml_event_type_t last_type_ = YAML_NO_EVENT;
  yaml_mark_t last_start_{}, last_end_{};
  bool last_quoted_ = false;
  bool explicit_end_ = false;  // the document ended with '...'
  std::vector<Open> open_;     // the collections being read, outermost first

  void drop() {
    if (have_event_) yaml_event_delete(&ev_);
    have_event_ = false;
  }
  void next();
  [[noreturn]] void fail_libyaml();
  json::value node(int depth);
  json::value sequence(int depth);
  json::value mapping(int depth);
  void check_properties(const yaml_char_t* anchor, const yaml_char_t* tag) const;
  void check_comment_after(const yaml_mark_t& end);
  void check_explicit_key(const yaml_mark_t& key);
  std::string tab_reason(const yaml_mark_t& at);
  [[noreturn]] void fail_escape(const yaml_mark_t& at, bool invalid_code);
};

void Reader::next() {
  if (have_event_) {
    last_type_ = ev_.type;
    last_start_ = ev_.start_mark;
    last_end_ = ev_.end_mark;
    last_quoted_ = ev_.type == YAML_SCALAR_EVENT && quoted(ev_.data.scalar.style);
    drop();
  }
  if (yaml_parser_parse(&parser_, &ev_) == 0) fail_libyaml();
  have_event_ = true;
}

json::value Reader::document() {
  next();  // stream start
  next();
  if (ev_.type == YAML_STREAM_END_EVENT) return nullptr;
  const auto& start = ev_.data.document_start;
  if (start.version_directive != nullptr || start.tag_directives.start != start.tag_directives.end) {
    fail_at(ev_.start_mark, kDirectives);
  }
  const bool marked = start.implicit == 0;
  const std::size_t marker_line = ev_.end_mark.line;
  next();
  // "--- value" is YAML, but nobody writes a kubeconfig so; an empty document is fine.
  const bool empty = ev_.type == YAML_SCALAR_EVENT && ev_.data.scalar.length == 0 &&
                     ev_.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  if (marked && ev_.start_mark.line == marker_line && !empty) {
    fail_at(ev_.start_mark, "content on the '---' line is not supported; start it on the next line");
  }
  json::value root = node(0);
  next();  // document end
  explicit_end_ = ev_.data.document_end.implicit == 0;
  next();
  if (ev_.type == YAML_DOCUMENT_START_EVENT) {
    fail_at(ev_.start_mark, ev_.data.document_start.implicit != 0
                                ? kAfterEnd
                                : "a second document ('---') is not supported; a kubeconfig is one document");
  }
  return root;
}

void Reader::check_properties(const yaml_char_t* anchor, const yaml_char_t* tag) const {
  if (anchor != nullptr) fail_at(ev_.start_mark, "anchors (&) are not supported");
  if (tag != nullptr) fail_at(ev_.start_mark, "tags (!) are not supported");
}

// libyaml takes a '#' right after a quoted scalar or a flow collection for a comment;
// YAML wants whitespace before it, and so did every kubeconfig reader before this one.
void Reader::check_comment_after(const yaml_mark_t& end) {
  if (pos_.at(end) == '#') fail_at(end, "a comment needs whitespace before '#'");
}

// libyaml reports "? key" as it does "key:", so the indicator is looked for between the
// previous event and the key, where only blanks, comments, ',' and '?' can be.
void Reader::check_explicit_key(const yaml_mark_t& key) {
  const std::string_view text = pos_.text();
  const std::size_t from = pos_.byte(last_end_), to = pos_.byte(key);
  std::size_t line = last_end_.line, col = last_end_.column;
  for (std::size_t i = from; i < to; ++i) {
    const char c = text[i];
    if (c == '#') {
      while (i + 1 < to && text[i + 1] != '\n') ++i;
    } else if (c == '\n') {
      ++line, col = 0;
    } else if (c == '?') {
      fail_at(line, col, kComplexKey);
    } else {
      ++col;
    }
  }
}

json::value Reader::node(int depth) {
  switch (ev_.type) {
    case YAML_ALIAS_EVENT:
      fail_at(ev_.start_mark, "aliases (*) are not supported");
    case YAML_SCALAR_EVENT: {
      const auto& s = ev_.data.scalar;
      check_properties(s.anchor, s.tag);
      std::string text(reinterpret_cast<const char*>(s.value), s.length);
      if (s.style == YAML_PLAIN_SCALAR_STYLE) return resolve_plain(text);
      if (quoted(s.style)) check_comment_after(ev_.end_mark);
      return json::string(std::move(text));
    }
    case YAML_SEQUENCE_START_EVENT:
      check_properties(ev_.data.sequence_start.anchor, ev_.data.sequence_start.tag);
      return sequence(depth + 1);
    case YAML_MAPPING_START_EVENT:
      check_properties(ev_.data.mapping_start.anchor, ev_.data.mapping_start.tag);
      return mapping(depth + 1);
    default:
      // libyaml delivers only nodes where a node is due.
      fail_at(ev_.start_mark, "unexpected YAML event " + std::to_string(ev_.type));
  }
}

json::value Reader::sequence(int depth) {
  if (depth > kYamlMaxDepth) fail_at(ev_.start_mark, "nested deeper than " + std::to_string(kYamlMaxDepth) + " levels");
  const bool flow = ev_.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
  open_.push_back({flow, ev_.start_mark});
  json::array arr;
  for (next(); ev_.type != YAML_SEQUENCE_END_EVENT; next()) arr.push_back(node(depth));
  if (flow) check_comment_after(ev_.end_mark);
  open_.pop_back();
  return arr;
}

json::value Reader::mapping(int depth) {
  if (depth > kYamlMaxDepth) fail_at(ev_.start_mark, "nested deeper than " + std::to_string(kYamlMaxDepth) + " levels");
  const bool flow = ev_.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
  // libyaml reads "[a: b]" as a list holding the mapping {a: b}; only "{" starts one here.
  if (flow && pos_.at(ev_.start_mark) != '{') {
    fail_at(ev_.start_mark, "'key: value' pairs inside a flow sequence are not supported; write {key: value}");
  }
  open_.push_back({flow, ev_.start_mark});
  json::object obj;
  for (next(); ev_.type != YAML_MAPPING_END_EVENT; next()) {
    const yaml_mark_t key_at = ev_.start_mark;
    check_explicit_key(key_at);
    if (ev_.type == YAML_SEQUENCE_START_EVENT || ev_.type == YAML_MAPPING_START_EVENT) {
      const bool flow_key = ev_.type == YAML_SEQUENCE_START_EVENT
                                ? ev_.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE
                                : ev_.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
      fail_at(key_at, std::string(flow_key ? "a flow" : "a") + " collection as a mapping key is not supported");
    }
    if (ev_.type == YAML_ALIAS_EVENT) fail_at(key_at, "aliases (*) are not supported");
    const auto& s = ev_.data.scalar;
    check_properties(s.anchor, s.tag);
    std::string key(reinterpret_cast<const char*>(s.value), s.length);
    // libyaml reads ": x" as a null key; '' is an empty one, written on purpose.
    if (key.empty() && s.style == YAML_PLAIN_SCALAR_STYLE) fail_at(key_at, "a mapping key is missing before ':'");
    // kubectl's go-yaml merges "<<: {...}" into the mapping; reading it as a key would
    // make a different kubeconfig of the same file.
    if (key == "<<" && s.style == YAML_PLAIN_SCALAR_STYLE) fail_at(key_at, "merge keys (<<) are not supported");
    if (quoted(s.style)) check_comment_after(ev_.end_mark);
    if (obj.contains(key)) fail_at(key_at, "duplicate key " + show_key(key));
    next();
    json::value value = node(depth);
    obj.emplace(key, std::move(value));
  }
  if (flow) check_comment_after(ev_.end_mark);
  open_.pop_back();
  return obj;
}

std::string Reader::tab_reason(const yaml_mark_t& at) {
  const std::string_view before = pos_.line_before(at);
  const std::size_t last = before.find_last_not_of(" \t");
  if (last == std::string_view::npos) return kTabIndent;
  if (before[last] == '-') return "a tab after '-'; separate items from '-' with spaces";
  return "a tab character is not allowed here; use spaces";
}

// libyaml's mark for a bad escape is at its first hex digit, after "\x", "\u" or "\U";
// the error points at the backslash.
void Reader::fail_escape(const yaml_mark_t& at, bool invalid_code) {
  const std::string_view text = pos_.text();
  const std::size_t b = pos_.byte(at);
  const char letter = b >= 2 && at.column >= 2 && text[b - 2] == '\\' ? text[b - 1] : '\0';
  const int digits = letter == 'x' ? 2 : letter == 'u' ? 4 : letter == 'U' ? 8 : 0;
  if (digits == 0) fail_at(at, invalid_code ? "an escape that is not a Unicode character" : "an escape needs hex digits");
  const yaml_mark_t escape_at{at.index - 2, at.line, at.column - 2};
  const std::string escape = std::string("\\") + letter;
  if (!invalid_code) fail_at(escape_at, escape + " escape needs " + std::to_string(digits) + " hex digits");
  std::uint32_t v = 0;
  std::from_chars(text.data() + b, text.data() + std::min(text.size(), b + digits), v, 16);
  const std::string written = escape + std::string(text.substr(b, static_cast<std::size_t>(digits)));
  if (v >= 0xdc00 && v <= 0xdfff) {
    fail_at(escape_at, written + " escape is an unpaired low surrogate: YAML escapes characters, not UTF-16 code units");
  }
  if (v >= 0xd800 && v <= 0xdbff) {
    std::string how = "the character itself, or \\U and its 8 hex digits";
    // JSON's pair \uD83D\uDE00 is YAML's \U0001F600: name the one to write.
    const std::size_t low_at = b + 4;
    std::uint32_t low = 0;
    if (text.substr(low_at, 2) == "\\u" &&
        std::from_chars(text.data() + low_at + 2, text.data() + std::min(text.size(), low_at + 6), low, 16).ptr ==
            text.data() + low_at + 6 &&
        low >= 0xdc00 && low <= 0xdfff) {
      how = "\\U" + hex(0x10000 + ((v - 0xd800) << 10) + (low - 0xdc00), 8) + " or the character itself";
    }
    fail_at(escape_at, written + " escape is a high surrogate: YAML 1.1 (libyaml, kubectl) does not pair UTF-16 "
                                 "surrogates as JSON does; write " + how);
  }
  fail_at(escape_at, written + " escape is not a Unicode character");
}

// Rewords libyaml's error so that it says what to change, at the place to change it.
// The texts matched are libyaml 0.2.5's; one it words otherwise falls through to its own
// words, with its line and column all the same.
void Reader::fail_libyaml() {
  if (parser_.error == YAML_MEMORY_ERROR) throw std::bad_alloc();
  const std::string problem = parser_.problem != nullptr ? parser_.problem : "unknown error";
  const std::string context = parser_.context != nullptr ? parser_.context : "";
  if (parser_.error == YAML_READER_ERROR) {
    // check_text lets through nothing libyaml's reader refuses; this is the fallback.
    const std::string_view before = pos_.text().substr(0, parser_.problem_offset);
    const std::size_t nl = before.rfind('\n');
    fail_at(static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')),
            nl == std::string_view::npos ? before.size() : before.size() - nl - 1, problem);
  }
  const yaml_mark_t at = parser_.problem_mark;
  const yaml_mark_t ctx = parser_.context_mark;
  const char here = pos_.at(at);
  const auto has = [](const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; };
  const auto blank_or_end = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0'; };
  // A value just ended on this line (a zero-width event is an empty value or a block's end).
  const bool after_value =
      (last_type_ == YAML_SCALAR_EVENT || last_type_ == YAML_SEQUENCE_END_EVENT ||
       last_type_ == YAML_MAPPING_END_EVENT) &&
      last_start_.index < last_end_.index && at.line == last_end_.line && at.index >= last_end_.index;
  const bool at_marker = at.column == 0 && (pos_.text().substr(pos_.byte(at), 3) == "---" ||
                                            pos_.text().substr(pos_.byte(at), 3) == "...");

  if (has(context, "directive") || has(problem, "directive") || has(problem, "incompatible YAML document")) {
    fail_at(parser_.context != nullptr ? ctx : at, kDirectives);
  }
  if (has(context, "anchor")) fail_at(ctx, "anchors (&) are not supported");
  if (has(context, "alias")) fail_at(ctx, "aliases (*) are not supported");
  if (has(context, "tag") || has(problem, "tag handle")) fail_at(parser_.context != nullptr ? ctx : at, "tags (!) are not supported");
  if (has(problem, "tab character")) fail_at(at, tab_reason(at));

  if (has(context, "quoted scalar")) {
    if (has(problem, "end of stream")) fail_at(ctx, "unterminated quoted scalar");
    if (has(problem, "document indicator")) {
      fail_at(at, "a document marker inside a quoted scalar ('---' or '...' at the start of a line)");
    }
    if (has(problem, "unknown escape")) {
      fail_at(at, "unknown escape '\\' followed by " + pos_.describe(yaml_mark_t{at.index + 1, at.line, at.column + 1}) +
                      " in a double-quoted scalar");
    }
    if (has(problem, "hexdecimal")) fail_escape(at, false);
    if (has(problem, "invalid Unicode")) fail_escape(at, true);
  }
  if (has(context, "block scalar") &&
      (has(problem, "comment or line break") || has(problem, "indentation indicator"))) {
    fail_at(at, kBlockScalarHeader);
  }
  if (problem == "found character that cannot start any token") {
    if (here == '\t') fail_at(at, tab_reason(at));
    if (here == '%' && at.column == 0) fail_at(at, kDirectives);
    if (here == '@' || here == '`' || here == '%') {
      fail_at(at, "a plain scalar cannot start with " + show(here) + "; quote it");
    }
    fail_at(at, "unexpected " + pos_.describe(at));
  }
  if (problem == "mapping values are not allowed in this context") {
    if (last_quoted_ && last_start_.line < last_end_.line && at.line == last_end_.line) {
      fail_at(at, "unexpected ':' after a quoted scalar that spans lines (a mapping key must be on one line)");
    }
    // libyaml gives up on a key 1024 characters on (as YAML allows it to), then meets its ':'.
    if (at.column > 1024 && pos_.line_before(at).find(": ") == std::string_view::npos) fail_at(at, kLongKey);
    fail_at(at, "mapping values are not allowed here (quote a value that holds ': ', or check the indentation)");
  }
  if (problem == "block sequence entries are not allowed in this context") {
    fail_at(at, "a block sequence cannot start on its key's line; put the '- ' items on the next lines");
  }
  if (problem == "mapping keys are not allowed in this context") fail_at(at, kComplexKey);
  if (problem == "found unexpected ':'") {
    fail_at(at, "unexpected ':' in a plain scalar inside a flow collection; quote the scalar");
  }
  if (problem == "could not find expected ':'") {
    if (at.line == ctx.line && at.index > ctx.index + 1024) {
      fail_at(ctx, kLongKey);
    }
    fail_at(ctx, kMappingEntry);
  }
  if (problem == "did not find expected <document start>") fail_at(at, explicit_end_ ? kAfterEnd : kAfterTopLevel);
  if (problem == "did not find expected node content") {
    if (here == '-' && blank_or_end(pos_.at(at, 1))) fail_at(at, "a block sequence entry ('- ') is not allowed here");
    if (!open_.empty() && open_.back().flow && pos_.only_comments_after(at)) {
      fail_at(open_.back().start, "unterminated flow collection");
    }
    fail_at(at, "unexpected " + pos_.describe(at));
  }
  if (has(problem, "did not find expected ',' or")) {
    const bool seq = has(problem, "']'");
    if (pos_.only_comments_after(at)) fail_at(ctx, "unterminated flow collection");
    if (at_marker) fail_at(at, "a document marker inside a flow collection");
    if (here == ':' && pos_.line_before(at).find_first_not_of(" \t") == std::string_view::npos) {
      fail_at(at, "unexpected ':' on a line after its key (a mapping key and its ':' must be on one line)");
    }
    if (seq && here == ':') fail_at(at, "'key: value' pairs inside a flow sequence are not supported; write {key: value}");
    fail_at(at, std::string("expected ',' or '") + (seq ? "]' in a flow sequence" : "}' in a flow mapping") +
                    ", found " + pos_.describe(at));
  }
  if (problem == "did not find expected key") {
    if (here == ':' && blank_or_end(pos_.at(at, 1))) fail_at(at, "a mapping key is missing before ':'");
    if (after_value) fail_at(at, "unexpected " + pos_.describe(at) + " after the value");
    if (at.column != ctx.column) {
      fail_at(at, "unexpected indentation (" + spaces(at.column) + "; the keys of this mapping have " +
                      std::to_string(ctx.column) + ")");
    }
    if (here == '-' && blank_or_end(pos_.at(at, 1))) {
      fail_at(at, "a sequence item where a mapping key was expected (is the indentation consistent?)");
    }
    fail_at(at, kMappingEntry);
  }
  if (problem == "did not find expected '-' indicator") {
    if (after_value) fail_at(at, "unexpected " + pos_.describe(at) + " after the value");
    if (at.column != ctx.column) {
      fail_at(at, "unexpected indentation (" + spaces(at.column) + "; the '-' of this sequence has " +
                      std::to_string(ctx.column) + ")");
    }
    if (open_.size() == 1) fail_at(at, kAfterTopLevel);
    fail_at(at, "expected a '- ' item at this indentation, like the sequence's other items");
  }
  std::string why = problem;
  if (parser_.context != nullptr) {
    why += " (" + context + " that started at line " + std::to_string(ctx.line + 1) + ", column " +
           std::to_string(ctx.column + 1) + ")";
  }
  fail_at(at, why);
}

}  // namespace

json::value parse_yaml(std::string_view text) {
  if (text.size() > kYamlMaxInput) {
    throw YamlError("input is " + std::to_string(text.size()) + " bytes, over the limit of " +
                    std::to_string(kYamlMaxInput));
  }
  check_text(text);
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);  // a UTF-8 byte order mark
  return Reader(text).document();
}

}  // namespace distls
