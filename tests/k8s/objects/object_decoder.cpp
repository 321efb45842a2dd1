#include "tests/k8s/objects/object_decoder.hpp"

#include <climits>
#include <cstdint>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/k8s/encoding/base64.hpp"
#include "tests/k8s/encoding/go_time.hpp"

namespace distls::k8s_double {

namespace json = boost::json;
using T = Schema::Type;

Schema object_meta_schema() {
  const Schema str = Schema::of(T::string);
  return Schema::object(
      {
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
      },
      "ObjectMeta");
}

// certificates.k8s.io/v1 CertificateSigningRequest, every field of the v1 API.
Schema csr_schema() {
  const Schema str = Schema::of(T::string);
  const Schema condition = Schema::object(
      {
          {"type", str},
          {"status", str},
          {"reason", str},
          {"message", str},
          {"lastUpdateTime", Schema::of(T::time)},
          {"lastTransitionTime", Schema::of(T::time)},
      },
      "CertificateSigningRequestCondition");
  return Schema::object(
      {
          {"apiVersion", str},
          {"kind", str},
          {"metadata", object_meta_schema()},
          {"spec", Schema::object(
                       {
                           {"request", Schema::of(T::bytes)},
                           {"signerName", str},
                           {"expirationSeconds", Schema::of(T::int32)},
                           {"usages", Schema::array(str)},
                           {"username", str},
                           {"uid", str},
                           {"groups", Schema::array(str)},
                           {"extra", Schema::map(Schema::array(str))},
                       },
                       "CertificateSigningRequestSpec")},
          {"status", Schema::object(
                         {
                             {"conditions", Schema::array(condition)},
                             {"certificate", Schema::of(T::bytes)},
                         },
                         "CertificateSigningRequestStatus")},
      },
      "CertificateSigningRequest");
}

// coordination.k8s.io/v1 Lease. acquireTime and renewTime are MicroTimes.
Schema lease_schema() {
  const Schema str = Schema::of(T::string);
  return Schema::object(
      {
          {"apiVersion", str},
          {"kind", str},
          {"metadata", object_meta_schema()},
          {"spec", Schema::object(
                       {
                           {"holderIdentity", str},
                           {"leaseDurationSeconds", Schema::of(T::int32)},
                           {"acquireTime", Schema::of(T::micro_time)},
                           {"renewTime", Schema::of(T::micro_time)},
                           {"leaseTransitions", Schema::of(T::int32)},
                           {"strategy", str},
                           {"preferredHolder", str},
                       },
                       "LeaseSpec")},
      },
      "Lease");
}

Schema role_schema(bool cluster) {
  const Schema str = Schema::of(T::string);
  const Schema strings = Schema::array(str);
  const Schema rule = Schema::object({{"verbs", strings},
                                      {"apiGroups", strings},
                                      {"resources", strings},
                                      {"resourceNames", strings},
                                      {"nonResourceURLs", strings}},
                                     "PolicyRule");
  std::map<std::string, Schema> fields{
      {"apiVersion", str}, {"kind", str}, {"metadata", object_meta_schema()}, {"rules", Schema::array(rule)}};
  if (cluster)
    fields.emplace("aggregationRule",
                   Schema::object({{"clusterRoleSelectors", Schema::array(Schema::of(T::any))}}, "AggregationRule"));
  return Schema::object(std::move(fields), cluster ? "ClusterRole" : "Role");
}

Schema role_binding_schema(bool cluster) {
  const Schema str = Schema::of(T::string);
  const Schema subject =
      Schema::object({{"kind", str}, {"apiGroup", str}, {"name", str}, {"namespace", str}}, "Subject");
  return Schema::object({{"apiVersion", str},
                         {"kind", str},
                         {"metadata", object_meta_schema()},
                         {"subjects", Schema::array(subject)},
                         {"roleRef", Schema::object({{"apiGroup", str}, {"kind", str}, {"name", str}}, "RoleRef")}},
                        cluster ? "ClusterRoleBinding" : "RoleBinding");
}

// core/v1 Event: what client-go's recorder and `kubectl create` send.
Schema event_schema() {
  const Schema str = Schema::of(T::string);
  const Schema reference = Schema::object({{"kind", str},
                                           {"namespace", str},
                                           {"name", str},
                                           {"uid", str},
                                           {"apiVersion", str},
                                           {"resourceVersion", str},
                                           {"fieldPath", str}},
                                          "ObjectReference");
  return Schema::object(
      {
          {"apiVersion", str},
          {"kind", str},
          {"metadata", object_meta_schema()},
          {"involvedObject", reference},
          {"reason", str},
          {"message", str},
          {"source", Schema::object({{"component", str}, {"host", str}}, "EventSource")},
          {"firstTimestamp", Schema::of(T::time)},
          {"lastTimestamp", Schema::of(T::time)},
          {"count", Schema::of(T::int32)},
          {"type", str},
          {"eventTime", Schema::of(T::micro_time)},
          {"series", Schema::object({{"count", Schema::of(T::int32)}, {"lastObservedTime", Schema::of(T::micro_time)}},
                                    "EventSeries")},
          {"action", str},
          {"related", reference},
          {"reportingComponent", str},
          {"reportingInstance", str},
      },
      "Event");
}

// core/v1 ConfigMap: what the signer publishes trust bundles as.
Schema configmap_schema() {
  const Schema str = Schema::of(T::string);
  return Schema::object({{"apiVersion", str},
                         {"kind", str},
                         {"metadata", object_meta_schema()},
                         {"data", Schema::map(str)},
                         {"binaryData", Schema::map(Schema::of(T::bytes))},
                         {"immutable", Schema::of(T::boolean)}},
                        "ConfigMap");
}

Schema access_review_schema() {
  const Schema str = Schema::of(T::string);
  return Schema::object(
      {
          {"apiVersion", str},
          {"kind", str},
          {"metadata", object_meta_schema()},
          {"spec", Schema::object({{"resourceAttributes", Schema::object({{"namespace", str},
                                                                           {"verb", str},
                                                                           {"group", str},
                                                                           {"version", str},
                                                                           {"resource", str},
                                                                           {"subresource", str},
                                                                           {"name", str},
                                                                           {"fieldSelector", Schema::of(T::any)},
                                                                           {"labelSelector", Schema::of(T::any)}},
                                                                          "ResourceAttributes")},
                                   {"nonResourceAttributes",
                                    Schema::object({{"path", str}, {"verb", str}}, "NonResourceAttributes")}},
                                  "SelfSubjectAccessReviewSpec")},
          {"status", Schema::of(T::any)},
      },
      "SelfSubjectAccessReview");
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
    case T::micro_time:
      return "string";
    case T::integer:
      return "int64";
    case T::int32:
      return "int32";
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
  Walker(std::string top_struct, std::vector<std::string>& unknown)
      : top_struct_(std::move(top_struct)), unknown_(unknown) {}

  // Returns false (and sets error_) on a type mismatch. Null members are dropped, as Go
  // leaves the zero value. `in_struct` is the Go type holding the current field, which
  // encoding/json names in its errors (UnmarshalTypeError.Struct).
  bool walk(json::value& v, const Schema& s, const std::string& path, const std::string& in_struct) {
    switch (s.type) {
      case T::any:
        return true;
      case T::string:
        return v.is_string() || mismatch(json_kind(v), s, path, in_struct);
      case T::time:
      case T::micro_time: {
        if (v.is_null()) return true;
        // metav1.Time.UnmarshalJSON: a JSON string, then time.Parse; its errors come back bare.
        if (!v.is_string()) {
          error_ = std::string("json: cannot unmarshal ") + json_kind(v) + " into Go value of type string";
          return false;
        }
        if (auto why = go_time_parse_error(s.type == T::time ? kRfc3339 : kRfc3339Micro, v.get_string())) {
          error_ = *why;
          return false;
        }
        return true;
      }
      case T::boolean:
        return v.is_bool() || mismatch(json_kind(v), s, path, in_struct);
      case T::integer:
      case T::int32: {
        if (!v.is_number()) return mismatch(json_kind(v), s, path, in_struct);
        // The number itself is named when it does not fit: "number 3000000000".
        const std::string literal = "number " + json::serialize(v);
        if (v.is_double()) return mismatch(literal, s, path, in_struct);
        if (v.is_uint64() && v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX))
          return mismatch(literal, s, path, in_struct);
        if (s.type == T::int32) {
          const long long n = v.is_int64() ? v.get_int64() : static_cast<long long>(v.get_uint64());
          if (n < INT32_MIN || n > INT32_MAX) return mismatch(literal, s, path, in_struct);
        }
        return true;
      }
      case T::bytes: {
        if (!v.is_string()) return mismatch(json_kind(v), s, path, in_struct);
        std::size_t bad = 0;
        if (!base64_decode(v.get_string(), &bad)) {
          error_ = "illegal base64 data at input byte " + std::to_string(bad);
          return false;
        }
        return true;
      }
      case T::array: {
        if (!v.is_array()) return mismatch(json_kind(v), s, path, in_struct);
        for (auto& item : v.get_array())
          if (!walk(item, *s.item, path, in_struct)) return false;
        return true;
      }
      case T::map: {
        if (!v.is_object()) return mismatch(json_kind(v), s, path, in_struct);
        for (auto& kv : v.get_object())
          if (!walk(kv.value(), *s.item, path + "." + std::string(kv.key()), in_struct)) return false;
        return true;
      }
      case T::object: {
        if (!v.is_object()) return mismatch(json_kind(v), s, path, in_struct);
        const std::string& here = s.go_struct.empty() ? top_struct_ : s.go_struct;
        auto& o = v.get_object();
        std::vector<std::string> drop;
        for (auto& kv : o) {
          const std::string key(kv.key());
          const std::string child = path.empty() ? key : path + "." + key;
          const auto f = s.fields.find(key);
          if (f == s.fields.end()) {
            unknown_.push_back(child);
            drop.push_back(key);
          } else if (kv.value().is_null() && f->second.type != T::time && f->second.type != T::micro_time) {
            drop.push_back(key);
          } else if (!walk(kv.value(), f->second, child, here)) {
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
  bool mismatch(const std::string& what, const Schema& s, const std::string& path, const std::string& in_struct) {
    error_ = "json: cannot unmarshal " + what + " into Go struct field " + in_struct + "." + path + " of type " +
             go_type(s);
    return false;
  }

  std::string top_struct_;
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
  if (!w.walk(v, schema, "", kind))
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
