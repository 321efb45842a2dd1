#include "tests/k8s/object_decoder.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "tests/k8s/base64.hpp"

namespace distls::k8s_double {

namespace json = boost::json;
using T = Schema::Type;

Schema object_meta_schema() {
  const Schema str = Schema::of(T::string);
  return Schema::object({
      {"name", str},
      {"generateName", str},
      {"namespace", str},
      {"selfLink", str},
      {"uid", str},
      {"resourceVersion", str},
      {"generation", Schema::of(T::integer)},
      {"creationTimestamp", Schema::of(T::time)},
      {"deletionTimestamp", Schema::of(T::time)},
      {"deletionGracePeriodSeconds", Schema::of(T::integer)},
      {"labels", Schema::map(str)},
      {"annotations", Schema::map(str)},
      {"ownerReferences", Schema::array(Schema::of(T::any))},
      {"finalizers", Schema::array(str)},
      {"managedFields", Schema::array(Schema::of(T::any))},
  });
}

// certificates.k8s.io/v1 CertificateSigningRequest, every field of the v1 API.
Schema csr_schema() {
  const Schema str = Schema::of(T::string);
  const Schema condition = Schema::object({
      {"type", str},
      {"status", str},
      {"reason", str},
      {"message", str},
      {"lastUpdateTime", Schema::of(T::time)},
      {"lastTransitionTime", Schema::of(T::time)},
  });
  return Schema::object({
      {"apiVersion", str},
      {"kind", str},
      {"metadata", object_meta_schema()},
      {"spec", Schema::object({
                   {"request", Schema::of(T::bytes)},
                   {"signerName", str},
                   {"expirationSeconds", Schema::of(T::integer)},
                   {"usages", Schema::array(str)},
                   {"username", str},
                   {"uid", str},
                   {"groups", Schema::array(str)},
                   {"extra", Schema::map(Schema::array(str))},
               })},
      {"status", Schema::object({
                     {"conditions", Schema::array(condition)},
                     {"certificate", Schema::of(T::bytes)},
                 })},
  });
}

// coordination.k8s.io/v1 Lease. acquireTime and renewTime are MicroTimes (RFC 3339 with
// microseconds), kept as the client wrote them.
Schema lease_schema() {
  const Schema str = Schema::of(T::string);
  return Schema::object({
      {"apiVersion", str},
      {"kind", str},
      {"metadata", object_meta_schema()},
      {"spec", Schema::object({
                   {"holderIdentity", str},
                   {"leaseDurationSeconds", Schema::of(T::integer)},
                   {"acquireTime", Schema::of(T::time)},
                   {"renewTime", Schema::of(T::time)},
                   {"leaseTransitions", Schema::of(T::integer)},
                   {"strategy", str},
                   {"preferredHolder", str},
               })},
  });
}

namespace {

const char* json_kind(const json::value& v) {
  if (v.is_string()) return "string";
  if (v.is_bool()) return "bool";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "number";
}

const char* go_type(const Schema& s) {
  switch (s.type) {
    case T::string:
    case T::time:
      return "string";
    case T::integer:
      return "int64";
    case T::boolean:
      return "bool";
    case T::bytes:
      return "[]uint8";
    case T::array:
      return "[]";
    case T::map:
      return "map[string]";
    case T::object:
      return "struct";
    case T::any:
      return "interface {}";
  }
  return "?";
}

class Walker {
 public:
  Walker(std::string prefix, std::vector<std::string>& unknown)
      : prefix_(std::move(prefix)), unknown_(unknown) {}

  // Returns false (and sets error_) on a type mismatch. Null members are dropped, as Go
  // leaves the zero value.
  bool walk(json::value& v, const Schema& s, const std::string& path) {
    switch (s.type) {
      case T::any:
        return true;
      case T::string:
        return v.is_string() || mismatch(v, s, path);
      case T::time:
        return v.is_string() || v.is_null() || mismatch(v, s, path);
      case T::boolean:
        return v.is_bool() || mismatch(v, s, path);
      case T::integer:
        return v.is_int64() || v.is_uint64() || mismatch(v, s, path);
      case T::bytes: {
        if (!v.is_string()) return mismatch(v, s, path);
        std::size_t bad = 0;
        if (!base64_decode(v.get_string(), &bad)) {
          error_ = "illegal base64 data at input byte " + std::to_string(bad);
          return false;
        }
        return true;
      }
      case T::array: {
        if (!v.is_array()) return mismatch(v, s, path);
        for (auto& item : v.get_array())
          if (!walk(item, *s.item, path)) return false;
        return true;
      }
      case T::map: {
        if (!v.is_object()) return mismatch(v, s, path);
        for (auto& kv : v.get_object())
          if (!walk(kv.value(), *s.item, path + "." + std::string(kv.key()))) return false;
        return true;
      }
      case T::object: {
        if (!v.is_object()) return mismatch(v, s, path);
        auto& o = v.get_object();
        std::vector<std::string> drop;
        for (auto& kv : o) {
          const std::string key(kv.key());
          const std::string child = path.empty() ? key : path + "." + key;
          const auto f = s.fields.find(key);
          if (f == s.fields.end()) {
            unknown_.push_back(child);
            drop.push_back(key);
          } else if (kv.value().is_null() && f->second.type != T::time) {
            drop.push_back(key);
          } else if (!walk(kv.value(), f->second, child)) {
            return false;
          }
        }
        for (const auto& k : drop) o.erase(k);
        return true;
      }
    }
    return true;
  }

  const std::string& error() const { return error_; }

 private:
  bool mismatch(const json::value& v, const Schema& s, const std::string& path) {
    error_ = std::string("json: cannot unmarshal ") + json_kind(v) + " into Go struct field " + prefix_ +
             "." + path + " of type " + go_type(s);
    return false;
  }

  std::string prefix_;
  std::vector<std::string>& unknown_;
  std::string error_;
};

}  // namespace

Expected<Decoded> decode_object(std::string_view body, const Schema& schema, const std::string& kind,
                                const std::string& api_version, FieldValidation mode) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return bad_request("couldn't get version/kind; json parse error: " + ec.message());
  if (!v.is_object()) return bad_request("couldn't get version/kind; json parse error: expected an object");
  auto& o = v.get_object();
  const auto field = [&](const char* k) {
    const auto it = o.find(k);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
  };
  if (const auto av = field("apiVersion"); !av.empty() && av != api_version)
    return bad_request("the API version in the data (" + av + ") does not match the expected API version (" +
                       api_version + ")");
  if (const auto k = field("kind"); !k.empty() && k != kind)
    return bad_request("the kind in the data (" + k + ") does not match the expected kind (" + kind + ")");

  std::vector<std::string> unknown;
  Walker w(kind, unknown);
  if (!w.walk(v, schema, ""))
    return bad_request(kind + " in version \"" + api_version.substr(api_version.find('/') + 1) +
                       "\" cannot be handled as a " + kind + ": " + w.error());
  Decoded out;
  out.object = std::move(o);
  if (mode == FieldValidation::ignore || unknown.empty()) return out;
  if (mode == FieldValidation::strict) {
    std::string msg = "strict decoding error: ";
    for (std::size_t i = 0; i < unknown.size(); ++i)
      msg += (i ? ", " : "") + ("unknown field " + go_quote(unknown[i]));
    return bad_request(msg);
  }
  for (const auto& u : unknown) out.warnings.push_back("unknown field " + go_quote(u));
  return out;
}

}  // namespace distls::k8s_double
