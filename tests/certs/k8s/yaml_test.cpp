#include "distls/k8s/yaml.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace distls {
namespace {

namespace json = boost::json;

struct Good {
  const char* yaml;
  const char* json;
};

TEST(Yaml, AcceptsTheKubeconfigSubset) {
  const Good cases[] = {
      // Empty documents and scalars at the top.
      {"", "null"},
      {"# only a comment\n\n", "null"},
      {"---\n", "null"},
      {"hello", R"("hello")"},
      {"  indented: doc\n  second: key\n", R"({"indented":"doc","second":"key"})"},
      // Typing: only plain true/false/null/~/empty and decimal int64 are not strings.
      {"a: 1\nb: -2\nc: +3\nd: 0\n", R"({"a":1,"b":-2,"c":3,"d":0})"},
      {"t: true\nf: False\nT: TRUE\nn: null\nt2: ~\ne:\n",
       R"({"t":true,"f":false,"T":true,"n":null,"t2":null,"e":null})"},
      {"v: 1.5\nx: 0x1F\ny: yes\nbig: 9223372036854775808\nver: v1\n",
       R"({"v":"1.5","x":"0x1F","y":"yes","big":"9223372036854775808","ver":"v1"})"},
      {"a: 'true'\nb: \"1\"\nc: 'null'\n", R"({"a":"true","b":"1","c":"null"})"},
      {"max: 9223372036854775807\nmin: -9223372036854775808\n",
       R"({"max":9223372036854775807,"min":-9223372036854775808})"},
      // Nesting and the sequence styles kubectl and people write.
      {"a:\n  b:\n    c: d\n  e: f\ng: h\n", R"({"a":{"b":{"c":"d"},"e":"f"},"g":"h"})"},
      {"items:\n- a\n- b\nother: c\n", R"({"items":["a","b"],"other":"c"})"},
      {"items:\n  - a\n  - b\n", R"({"items":["a","b"]})"},
      {"- name: x\n  cluster:\n    server: s\n- name: y\n",
       R"([{"name":"x","cluster":{"server":"s"}},{"name":"y"}])"},
      {"-   a: 1\n    b: 2\n-\n  c: 3\n", R"([{"a":1,"b":2},{"c":3}])"},
      {"- - a\n  - b\n- c\n", R"([["a","b"],"c"])"},
      {"-\n- a\n- # nothing\n", R"([null,"a",null])"},
      {"l:\n- x: 1\n  y:\n  - 2\n  z: 3\n", R"({"l":[{"x":1,"y":[2],"z":3}]})"},
      // Comments, markers, separators.
      {"a: b # c\n# d\n  # e\nf: g#h\n", R"({"a":"b","f":"g#h"})"},
      {"--- # start\na: b\n...\n# trailing\n", R"({"a":"b"})"},
      {"a:\tb\nc:   d   \n", R"({"a":"b","c":"d"})"},
      {"a: 1\r\nb:\r\n  - x\r\n", R"({"a":1,"b":["x"]})"},
      {"\xef\xbb\xbf" "a: b\n", R"({"a":"b"})"},
      // Keys and values with colons, as URLs and IPv6 addresses have.
      {"server: https://[fd00::1]:6443/prefix\n", R"({"server":"https://[fd00::1]:6443/prefix"})"},
      {"a:b: c\n\"x: y\": z\n'': empty\n'<<': quoted\n", R"({"a:b":"c","x: y":"z","":"empty","<<":"quoted"})"},
      {"key with spaces  : v\n", R"({"key with spaces":"v"})"},
      {"a: b[0], {c}\n", R"({"a":"b[0], {c}"})"},
      // Quoted scalars and escapes.
      {"a: 'it''s'\n", R"({"a":"it's"})"},
      {R"(a: "\x41\t\u00e9\U0001F600\"\\\/\N\_\e\0\L")",
       R"({"a":"A\t\u00e9\ud83d\ude00\"\\/\u0085\u00a0\u001b\u0000\u2028"})"},
      {"a: \"one\n  two\\\n  three\n\n  four  \"\n", R"({"a":"one twothree\nfour  "})"},
      {"a: 'one\n   two  \n\n\n   three'\n", R"({"a":"one two\n\nthree"})"},
      {"a: \"tab\\t  \n  x\"\n", R"({"a":"tab\t x"})"},
      // Multi-line plain scalars fold like quoted ones.
      {"a: one\n  two\n\n  three\nb: c\n", R"({"a":"one two\nthree","b":"c"})"},
      {"- long\n  item\n- x\n", R"(["long item","x"])"},
      // Block scalars.
      {"a: |\n  line1\n    indented\n  line3\n\n\nb: x\n", R"({"a":"line1\n  indented\nline3\n","b":"x"})"},
      {"a: |-\n  x\n\nb: |+\n  y\n\n", R"({"a":"x","b":"y\n\n"})"},
      {"a: >\n  folded\n  text\n\n  para\n    more\n  end\n", R"({"a":"folded text\npara\n  more\nend\n"})"},
      {"a: |2\n    two extra\n  base\n", R"({"a":"  two extra\nbase\n"})"},
      {"- |\n  in a sequence\n- >-\n  folded\n  strip\n", R"(["in a sequence\n","folded strip"])"},
      {"a: |\nb: 1\n", R"({"a":"","b":1})"},
      {"a: | # comment\n  x\n", R"({"a":"x\n"})"},
      {"a: |\n  no final line break", R"({"a":"no final line break"})"},
      // Flow collections, on one line or several, and JSON.
      {"a: []\nb: {}\nc: [x, 'y', \"z\", 1, true, null, ]\nd: {k: v, n: 2, e: , f}\n",
       R"({"a":[],"b":{},"c":["x","y","z",1,true,null],"d":{"k":"v","n":2,"e":null,"f":null}})"},
      {"a: [1,\n  [2, {b: c}], # comment\n  3]\n", R"({"a":[1,[2,{"b":"c"}],3]})"},
      {"{a:1, http://x: y}", R"({"a:1":null,"http://x":"y"})"},
      {"{f: it\n   more\n\n g, h: [multi\n line]}", R"({"f":"it more\ng","h":["multi line"]})"},
      {"{\"a\" : 1, 'b':2,\n \"c\":\n 3}", R"({"a":1,"b":2,"c":3})"},
      {R"({"kind":"Config","clusters":[{"name":"c","cluster":{"server":"https://h"}}],)"
       R"("n":-1.5e3,"b":false})",
       R"({"kind":"Config","clusters":[{"name":"c","cluster":{"server":"https://h"}}],)"
       R"("n":"-1.5e3","b":false})"},
      {"{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {\"c\": null}\n}\n", R"({"a":[1,2],"b":{"c":null}})"},
  };
  for (const Good& c : cases) {
    SCOPED_TRACE(c.yaml);
    json::value got;
    try {
      got = parse_yaml(c.yaml);
    } catch (const YamlError& e) {
      ADD_FAILURE() << "refused: " << e.what();
      continue;
    }
    EXPECT_EQ(json::serialize(got), json::serialize(json::parse(c.json)));
  }
}

struct Bad {
  std::string yaml;
  int line;
  const char* reason;
};

TEST(Yaml, RefusesWithLineAndReason) {
  const Bad cases[] = {
      {"a: &x 1\n", 1, "anchors"},
      {"a: 1\nb: *x\n", 2, "aliases"},
      {"a: !!str 1\n", 1, "tags"},
      {"%YAML 1.2\n---\na: 1\n", 1, "directives"},
      {"a: 1\n---\nb: 2\n", 2, "second document"},
      {"--- a: 1\n", 1, "'---' line"},
      {"a: 1\n...\nb: 2\n", 3, "after the document end"},
      {"a: 1\n...\n# c\n...\n - b\n", 5, "after the document end"},
      {"a: 1\n...\n---\nb: 2\n", 3, "second document"},
      {"a: 1\nb: 2\na: 3\n", 3, "duplicate key \"a\""},
      {"x:\n  - {k: 1, k: 2}\n", 2, "duplicate key \"k\""},
      {"a:\n\tb: 1\n", 2, "tab character in indentation"},
      {"-\tx: 1\n", 1, "tab after '-'"},
      {"a:\n    b: 1\n  c: 2\n", 3, "unexpected indentation"},
      {"a: 1\n  b: 2\n", 2, "mapping values are not allowed"},
      {"a: 'x\n  y: z\n", 1, "unterminated quoted scalar"},
      {"a: [1, 2\n", 1, "unterminated flow collection"},
      {"a: b: c\n", 1, "mapping values are not allowed"},
      {"a: - b\n", 1, "block sequence cannot start"},
      {"- a\nb: c\n", 2, "unexpected content after the top-level node"},
      {"- 'a'\nb: c\n", 2, "unexpected content after the top-level node"},
      {"a: 1\n- b\n", 2, "sequence item where a mapping key"},
      {"a: 1\nplain\n", 2, "expected a 'key: value'"},
      {"a: \"x\" y\n", 1, "after the value"},
      {"a: \"x\"# c\n", 1, "whitespace before '#'"},
      {"? a\n: b\n", 1, "complex mapping keys"},
      {"[a]: b\n", 1, "flow collection as a mapping key"},
      {"a: [b: c]\n", 1, "flow sequence"},
      {"a: {b c d\n", 1, "unterminated flow"},
      {"a: [\"x\" y]\n", 1, "expected ',' or ']'"},
      {"a: [1,,2]\n", 1, "unexpected ','"},
      {"a: \"\\q\"\n", 1, "unknown escape"},
      {"a: \"\\ud800x\"\n", 1, "high surrogate"},
      {"a: \"\\udc00\"\n", 1, "low surrogate"},
      {"a: \"\\x4\"\n", 1, "hex digits"},
      {"a: |x\n  y\n", 1, "block scalar header"},
      {"a: @b\n", 1, "cannot start with '@'"},
      {"a: `b\n", 1, "cannot start with '`'"},
      {"a: 1\nb\x01: 2\n", 2, "control character 0x01"},
      {std::string("a: \0\n", 5), 1, "control character 0x00"},
      {"a: b\rc: d\n", 1, "carriage return"},
      {"a: \xff\n", 1, "invalid UTF-8"},
      {"a: \xc3\n", 1, "invalid UTF-8"},
      {"a: \xed\xa0\x80\n", 1, "invalid UTF-8"},  // an encoded surrogate
      {"a: \xc0\xaf\n", 1, "invalid UTF-8"},      // overlong
      {"\"a\nb\": c\n", 2, "unexpected ':'"},
      {"a: '---\n---\n'\n", 2, "document marker inside a quoted scalar"},
      {": x\n", 1, "key is missing"},
      {"{- a: b}\n", 1, "block sequence entry"},
      // Beyond the cases above, which the reader before libyaml refused too.
      {"a: 1\n? b\n: c\n", 2, "complex mapping keys"},
      {"{a: 1, ? b: c}\n", 1, "complex mapping keys"},
      {"a: 1 # why?\n? b\n", 2, "complex mapping keys"},
      {"*x : 1\n", 1, "aliases"},
      {"a: !!map {b: 1}\n", 1, "tags"},
      {"a: &x [1]\n", 1, "anchors"},
      {"a:\n  <<: {b: 1}\n", 2, "merge keys (<<) are not supported"},
      {"%TAG ! tag:example.com,2000:\n---\na: 1\n", 1, "directives"},
      {"--- hello\n", 1, "'---' line"},
      {"a: [1]# c\n", 1, "whitespace before '#'"},
      {"{a: 'b'# c\n}\n", 1, "whitespace before '#'"},
      {"a: [1, 2\n---\n", 2, "document marker inside a flow collection"},
      {"{x::}\n", 1, "unexpected ':' in a plain scalar inside a flow collection"},
      {"a: [1,\n", 1, "unterminated flow collection"},
      {"a:\n  - x\n - y\n", 3, "unexpected indentation (1 space; the keys of this mapping have 0)"},
      {"a:\n  - x\n  b: 1\n", 3, "expected a '- ' item"},
      {"a: \"x\"\n  - y\n", 2, "unexpected indentation (2 spaces; the keys of this mapping have 0)"},
      {"a: b\n\tc: d\n", 2, "tab character in indentation"},
      {std::string(1100, 'k') + ": v\n", 1, "longer than 1024 characters"},
      // What YAML 1.1 reads otherwise than JSON and YAML 1.2 do: refused, with the way out.
      {"a: \"x\x7fy\"\n", 1, "control character 0x7F"},
      {"a: \"\xc2\x80\"\n", 1, "control character U+0080"},
      {"a: \"x\xc2\x85y\"\n", 1, "U+0085 is a line break to YAML 1.1"},
      {"a: \"x\xe2\x80\xa8y\"\n", 1, "write it as \\u2028 inside double quotes"},
      {"a: \"\xef\xbf\xbe\"\n", 1, "U+FFFE is not a character"},
      {"a: \"\\ud83d\\ude00\"\n", 1, "write \\U0001F600"},
      // An implicit key and its ':' share a line in YAML 1.1 and 1.2 alike; JSON formatters
      // never break there, and kubectl refuses it too.
      {"{\"a\"\n  : 1, 'b':2}", 2, "must be on one line"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.yaml);
    try {
      const json::value v = parse_yaml(c.yaml);
      ADD_FAILURE() << "accepted as " << json::serialize(v);
    } catch (const YamlError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("line " + std::to_string(c.line) + ", column ", 0), 0u) << msg;
      EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
    }
  }
}

// libyaml counts columns in characters and a CRLF as one line break; so do the messages.
TEST(Yaml, PositionsCountCharactersAndLines) {
  const std::pair<std::string, std::string> cases[] = {
      {"\xc3\xa9\xc3\xa9: [1,,2]\n", "line 1, column 8: unexpected ','"},
      {"a: 1\r\nb: [1,,2]\r\n", "line 2, column 7: unexpected ','"},
      {"\xef\xbb\xbf" "a: [1,,2]\n", "line 1, column 7: unexpected ','"},
      {"a: \"\xc3\xa9\\q\"\n", "line 1, column 6: unknown escape '\\' followed by 'q' in a double-quoted scalar"},
      {"k: \xe2\x82\xac\x7f\n", "line 1, column 5: control character 0x7F is not allowed"},
  };
  for (const auto& [yaml, want] : cases) {
    try {
      parse_yaml(yaml);
      ADD_FAILURE() << "accepted: " << yaml;
    } catch (const YamlError& e) {
      EXPECT_EQ(std::string(e.what()), want);
    }
  }
}

json::value read_fixture(const std::string& name) {
  std::ifstream in(std::string(DISTLS_SOURCE_DIR) + "/tests/certs/k8s/kubeconfigs/" + name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(in.good()) << name;
  return parse_yaml(text.str());
}

// The scalars in the real kubeconfigs (tests/certs/k8s/kubeconfigs/) that their writers
// fold or quote: read as the writer meant them.
TEST(Yaml, ReadsTheRealKubeconfigsAsWritten) {
  // gcloud folds a long plain scalar over two lines.
  const json::value gke = read_fixture("gke.yaml");
  const json::value& plugin = gke.at("users").at(0).at("user").at("exec");
  EXPECT_EQ(plugin.at("installHint"),
            "Install gke-gcloud-auth-plugin for use with kubectl by following "
            "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin");
  EXPECT_EQ(plugin.at("provideClusterInfo"), true);
  EXPECT_EQ(gke.at("preferences"), json::object());

  // PyYAML (az) writes a string with line breaks single-quoted, each break as an empty line.
  const json::value aks = read_fixture("aks.yaml");
  const json::value& kubelogin = aks.at("users").at(0).at("user").at("exec");
  EXPECT_EQ(kubelogin.at("installHint"),
            "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
            "To learn more, please go to https://aka.ms/aks/kubelogin\n");
  EXPECT_TRUE(kubelogin.at("env").is_null());
  EXPECT_EQ(kubelogin.at("provideClusterInfo"), false);
  EXPECT_EQ(kubelogin.at("args").as_array().size(), 11u);
  EXPECT_EQ(kubelogin.at("args").at(4), "6dae42f8-4368-4678-94ff-3960e28e3630");

  // ARNs: plain scalars full of ':' that are no mapping values.
  const json::value eks = read_fixture("eks.yaml");
  EXPECT_EQ(eks.at("clusters").at(0).at("name"), "arn:aws:eks:eu-west-1:123456789012:cluster/erlang-prod");
  EXPECT_EQ(eks.at("users").at(0).at("user").at("exec").at("env"),
            json::parse(R"([{"name": "AWS_PROFILE", "value": "prod"}])"));
  EXPECT_EQ(eks.at("users").at(1).at("user").at("exec").at("args").at(7),
            "arn:aws:iam::123456789012:role/erlang-deployer");
  EXPECT_EQ(eks.at("current-context"), "staging");

  const json::value kubectl = read_fixture("kubectl.yaml");
  EXPECT_EQ(kubectl.at("users").at(2).at("user").at("exec").at("interactiveMode"), "IfAvailable");
  EXPECT_EQ(kubectl.at("clusters").at(1).at("cluster").at("server"), "https://[fd00:10:96::1]:6443/k8s");
  EXPECT_EQ(read_fixture("kind.yaml").at("contexts"),
            json::parse(R"([{"context": {"cluster": "kind-distls", "user": "kind-distls"}, "name": "kind-distls"}])"));
}

TEST(Yaml, BoundsNestingAndSize) {
  // 64 levels are fine, 65 are refused, in both styles.
  EXPECT_NO_THROW(parse_yaml(std::string(64, '[') + std::string(64, ']')));
  EXPECT_THROW(parse_yaml(std::string(65, '[') + std::string(65, ']')), YamlError);
  EXPECT_THROW(parse_yaml(std::string(100000, '[')), YamlError);
  std::string block;
  for (int i = 0; i < 70; ++i) block += std::string(static_cast<std::size_t>(i) * 2, ' ') + "k:\n";
  block += std::string(140, ' ') + "v\n";
  try {
    parse_yaml(block);
    ADD_FAILURE() << "70 levels accepted";
  } catch (const YamlError& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
  std::string seqs;
  for (int i = 0; i < 100; ++i) seqs += "- ";
  EXPECT_THROW(parse_yaml(seqs + "x"), YamlError);

  std::string big(kYamlMaxInput + 1, ' ');
  try {
    parse_yaml(big);
    ADD_FAILURE() << "oversized input accepted";
  } catch (const YamlError& e) {
    EXPECT_NE(std::string(e.what()).find("over the limit"), std::string::npos) << e.what();
  }
  // At the limit it is read, and quickly: a long run of short lines.
  std::string many;
  while (many.size() + 8 < kYamlMaxInput) many += "- 1234\n";
  EXPECT_EQ(parse_yaml(many).as_array().size(), many.size() / 7);
}

// JSON as YAML 1.1 reads it the same: DEL, the C1 controls and LS/PS escaped, which
// Boost.JSON writes raw and YAML 1.1 refuses or takes for line breaks (see yaml.hpp).
std::string yaml_safe_json(const json::value& v) {
  const std::string raw = json::serialize(v);
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    const auto next = i + 1 < raw.size() ? static_cast<unsigned char>(raw[i + 1]) : 0;
    const auto third = i + 2 < raw.size() ? static_cast<unsigned char>(raw[i + 2]) : 0;
    char buf[8];
    if (c == 0x7f) {
      out += "\\u007f";
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      std::snprintf(buf, sizeof buf, "\\u%04x", next);
      out += buf;
      ++i;
    } else if (c == 0xe2 && next == 0x80 && (third == 0xa8 || third == 0xa9)) {
      out += third == 0xa8 ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += raw[i];
    }
  }
  return out;
}

// Any output is valid JSON with the same meaning when read back, since JSON is YAML.
void expect_round_trip(const json::value& v, const std::string& from) {
  const std::string text = yaml_safe_json(v);
  json::value back;
  try {
    back = parse_yaml(text);
  } catch (const YamlError& e) {
    ADD_FAILURE() << "own JSON output refused: " << e.what() << "\ninput: " << from << "\njson: " << text;
    return;
  }
  EXPECT_EQ(back, v) << "input: " << from << "\njson: " << text;
}

// A few MB of mutated and random documents: the parser must return or throw YamlError,
// never crash, hang or throw anything else. Seeded, so a failure reproduces.
TEST(Yaml, SurvivesMutatedAndRandomInput) {
  const std::vector<std::string> seeds = {
      "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://[fd00::1]:6443\n"
      "    certificate-authority-data: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0\n"
      "contexts:\n- context:\n"
      "    cluster: c\n    user: u\n    namespace: ns\n  name: ctx\ncurrent-context: ctx\npreferences: {}\n"
      "users:\n- name: u\n  user:\n    token: abc.def\n",
      R"({"kind": "Config", "clusters": [{"name": "c", "cluster": {"server": "https://h:1", )"
      R"("x": [1, true, null]}}],)"
      "\n \"users\": [ ], \"s\": \"\\u00e9\\n\\ud83d\\ude00\"}\n",
      "a: |\n  lit\n   more\n\nb: >-\n  fold\n  ed\nc: 'q''d'\nd: \"e\\x41\\\n  f\"\ne: [1, {f: g}]\n- x\n",
      "---\n- - a\n  - b\n- k: v\n  l:\n  - 1\n  - 2\n# c\n...\n",
  };
  const std::vector<std::string> tokens = {
      ": ", "- ", "\n", "  ", "    ", "[", "]", "{", "}", ",", "\"", "'", "|", ">", "#", " #", "\t", "\\",
      "---", "...", "&a", "*a", "!t", "?", "%", "@", "a", "key", "1", "-7", "true", "~", "\\u", "\\ud83d",
      "\xc3\xa9", "\xff", "\r\n", "\r", "|-", ">+", "|2", "{a: [", "]}", ": |\n", "\"\\", "''", "\n- ",
  };
  std::mt19937 rng(20240611);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  std::size_t bytes = 0, accepted = 0, refused = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; bytes < 3 * 1024 * 1024; ++round) {
    std::string doc;
    if (round % 4 == 3) {
      const std::size_t n = 1 + pick(200);
      for (std::size_t i = 0; i < n; ++i) doc += tokens[pick(tokens.size())];
    } else {
      doc = seeds[pick(seeds.size())];
      const std::size_t edits = 1 + pick(8);
      for (std::size_t e = 0; e < edits && !doc.empty(); ++e) {
        const std::size_t at = pick(doc.size());
        switch (pick(5)) {
          case 0: doc[at] = static_cast<char>(pick(256)); break;
          case 1: doc.erase(at, 1 + pick(8)); break;
          case 2: doc.insert(at, tokens[pick(tokens.size())]); break;
          case 3: doc.insert(at, doc.substr(pick(doc.size()), pick(40))); break;
          default: doc.insert(at, std::string(pick(6), ' ')); break;
        }
      }
    }
    bytes += doc.size();
    try {
      const json::value v = parse_yaml(doc);
      ++accepted;
      expect_round_trip(v, doc);
    } catch (const YamlError&) {
      ++refused;
    }
    if (HasFailure()) break;
  }
  const auto took = std::chrono::steady_clock::now() - start;
  // Both outcomes must be common, or the mutations are not reaching the parser's paths.
  EXPECT_GT(accepted, 500u);
  EXPECT_GT(refused, 500u);
  EXPECT_LT(took, std::chrono::seconds(5)) << "took " << std::chrono::duration<double>(took).count() << " s";
  RecordProperty("accepted", static_cast<int>(accepted));
  RecordProperty("refused", static_cast<int>(refused));
}

TEST(Yaml, EmptyInputIsNull) {
  EXPECT_TRUE(parse_yaml(std::string_view()).is_null());
  EXPECT_TRUE(parse_yaml("\xef\xbb\xbf").is_null());
}

TEST(Yaml, OwnOutputOfTheGoodCasesRoundTrips) {
  for (const char* text : {"a: [1, {b: \"\\u0001\"}]\nc: |\n  x\n", "- ~\n- -0\n- '\t'\n- \"\\x7f\"\n",
                           "- \"\\N\\x80\\L\\P\\U0001F600\"\n"}) {
    expect_round_trip(parse_yaml(text), text);
  }
}

}  // namespace
}  // namespace distls
