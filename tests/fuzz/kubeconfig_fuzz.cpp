// Kubeconfig files, which `distls proxy --kubeconfig` and `distls signer` read at
// startup: the YAML reader (libyaml through certs/k8s/yaml.cpp) on the input, then
// load_kubeconfig on the input written to a file in a directory that also holds a CA
// certificate, a client certificate and key and a token file, so that seeds can name them
// by relative path.
//
// YamlError from the reader and K8sConfigError from the loader are the expected answers
// to bad input; anything else escaping is a finding. And since the reader takes JSON as
// YAML, a JSON document it accepts must read as Boost.JSON reads it (documents with
// non-integer or out-of-int64 numbers aside: the reader keeps those as text on purpose;
// what YAML 1.1 reads otherwise than JSON it refuses, and refusing is always allowed).
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "distls/x509/cert_builder.hpp"
#include "distls/k8s/kubeconfig.hpp"
#include "distls/x509/ossl.hpp"
#include "distls/x509/pem.hpp"
#include "distls/k8s/yaml.hpp"

namespace {

using namespace distls;
namespace fs = std::filesystem;
namespace json = boost::json;

void require(bool ok) {
  if (!ok) std::abort();
}

// The directory the kubeconfig is written to, with the files a kubeconfig may name:
// ca.crt, client.crt, client.key, token. Made once per process, removed at exit.
struct Workdir {
  fs::path dir;
  Workdir() {
    std::string tmpl = (fs::temp_directory_path() / "distls-kubeconfig-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    auto ca_key = pem::generate_ec_p256();
    auto ca = certs::make_self_signed_ca(ca_key.get(), "fuzz CA", std::chrono::hours(24));
    auto key = pem::generate_ec_p256();
    certs::LeafSpec spec;
    spec.common_name = "fuzz client";
    auto leaf = certs::sign_leaf(spec, key.get(), ca.get(), ca_key.get());
    pem::write_file_atomic(dir / "ca.crt", pem::cert_to_pem(ca.get()), 0600);
    pem::write_file_atomic(dir / "client.crt", pem::cert_to_pem(leaf.get()), 0600);
    pem::write_file_atomic(dir / "client.key", pem::private_key_to_pem(key.get()), 0600);
    pem::write_file_atomic(dir / "token", "fuzz-token\n", 0600);
  }
  ~Workdir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};
const Workdir& workdir() {
  static const Workdir w;  // fuzz-target state, never changed after construction
  return w;
}

// True when the document names nothing that a read could block on or that is not ours
// (/dev/stdin, a FIFO in /proc): the loader reads every file a kubeconfig names.
bool names_only_plain_paths(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: {
      const std::string_view s = v.get_string();
      return s.find("/dev") == std::string_view::npos && s.find("/proc") == std::string_view::npos &&
             s.find("/sys") == std::string_view::npos && s.find("/run") == std::string_view::npos;
    }
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (!names_only_plain_paths(e)) return false;
      return true;
    case json::kind::object:
      for (const auto& e : v.get_object())
        if (!names_only_plain_paths(e.value())) return false;
      return true;
    default:
      return true;
  }
}

// No doubles and no numbers beyond int64: the part of JSON the reader types the same way.
bool integers_only(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
    case json::kind::uint64:
      return false;
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (!integers_only(e)) return false;
      return true;
    case json::kind::object:
      for (const auto& e : v.get_object())
        if (!integers_only(e.value())) return false;
      return true;
    default:
      return true;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  workdir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  json::value doc;
  try {
    doc = parse_yaml(text);
  } catch (const YamlError&) {
    return 0;  // the loader would say the same, wrapped
  }

  boost::system::error_code ec;
  const json::value as_json = json::parse(text, ec);
  if (!ec && integers_only(as_json)) require(doc == as_json);

  if (!names_only_plain_paths(doc)) return 0;
  const fs::path file = workdir().dir / "kubeconfig";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);  // no fsync per input
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) std::abort();
  }
  for (const std::string& context : {std::string(), std::string("other")}) {
    try {
      const k8s::Connection c = k8s::load_kubeconfig(file, context);
      require(!c.host.empty() && !c.origin.empty());
      c.authority();
      c.describe();
      k8s::current_token(c);
    } catch (const k8s::K8sConfigError&) {
    }
  }
  return 0;
}
