#include "tests/k8s/encoding/protobuf_body.hpp"

#include <cstdint>
#include <functional>
#include <optional>

#include <boost/json/array.hpp>

#include "tests/k8s/encoding/base64.hpp"
#include "tests/k8s/encoding/json_util.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

// One field of a protobuf message: its number, and its value as a varint or as bytes.
struct Field {
  std::uint32_t number = 0;
  int wire = 0;  // 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
  std::uint64_t varint = 0;
  std::string_view bytes;
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  // Next field; nullopt at the end. Sets failed() on malformed input.
  std::optional<Field> next() {
    if (pos_ >= data_.size() || failed_) return std::nullopt;
    const auto key = varint();
    if (!key) return fail();
    Field f;
    f.number = static_cast<std::uint32_t>(*key >> 3);
    f.wire = static_cast<int>(*key & 7);
    switch (f.wire) {
      case 0: {
        const auto v = varint();
        if (!v) return fail();
        f.varint = *v;
        return f;
      }
      case 1:
      case 5: {
        const std::size_t n = f.wire == 1 ? 8 : 4;
        if (data_.size() - pos_ < n) return fail();
        pos_ += n;
        return f;
      }
      case 2: {
        const auto len = varint();
        if (!len || *len > data_.size() - pos_) return fail();
        f.bytes = data_.substr(pos_, static_cast<std::size_t>(*len));
        pos_ += static_cast<std::size_t>(*len);
        return f;
      }
      default:
        return fail();
    }
  }
  bool failed() const { return failed_; }

 private:
  std::optional<std::uint64_t> varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return std::nullopt;
      const auto b = static_cast<unsigned char>(data_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return std::nullopt;
  }
  std::optional<Field> fail() {
    failed_ = true;
    return std::nullopt;
  }

  std::string_view data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

// Walks a message, handing each field to `on`; false when malformed.
bool each_field(std::string_view msg, const std::function<bool(const Field&)>& on) {
  Reader r(msg);
  while (auto f = r.next())
    if (!on(*f)) return false;
  return !r.failed();
}

void put_string(json::object& o, const char* key, std::string_view v) {
  if (!v.empty()) o[key] = v;
}

void append(json::object& o, const char* key, std::string_view v) {
  auto& a = o[key];
  if (!a.is_array()) a = json::array{};
  a.as_array().push_back(json::value(v));
}

// metav1.Time {seconds = 1, nanos = 2}: an empty message is the zero time (null in JSON).
std::optional<std::string> read_time(std::string_view msg, bool& ok) {
  std::optional<std::int64_t> seconds;
  ok = each_field(msg, [&](const Field& f) {
    if (f.number == 1 && f.wire == 0) seconds = static_cast<std::int64_t>(f.varint);
    return true;
  });
  if (!seconds) return std::nullopt;
  return format_time(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(*seconds)));
}

bool read_string_map_entry(std::string_view msg, json::object& into) {
  std::string key, value;
  const bool ok = each_field(msg, [&](const Field& f) {
    if (f.number == 1 && f.wire == 2) key = f.bytes;
    if (f.number == 2 && f.wire == 2) value = f.bytes;
    return true;
  });
  into[key] = value;
  return ok;
}

bool read_object_meta(std::string_view msg, json::object& meta) {
  return each_field(msg, [&](const Field& f) {
    bool ok = true;
    if (f.wire == 2) {
      switch (f.number) {
        case 1:
          put_string(meta, "name", f.bytes);
          break;
        case 2:
          put_string(meta, "generateName", f.bytes);
          break;
        case 3:
          put_string(meta, "namespace", f.bytes);
          break;
        case 4:
          put_string(meta, "selfLink", f.bytes);
          break;
        case 5:
          put_string(meta, "uid", f.bytes);
          break;
        case 6:
          put_string(meta, "resourceVersion", f.bytes);
          break;
        case 8:
          if (auto t = read_time(f.bytes, ok)) meta["creationTimestamp"] = *t;
          break;
        case 9:
          if (auto t = read_time(f.bytes, ok)) meta["deletionTimestamp"] = *t;
          break;
        case 11:
        case 12: {
          auto& m = meta[f.number == 11 ? "labels" : "annotations"];
          if (!m.is_object()) m = json::object{};
          ok = read_string_map_entry(f.bytes, m.as_object());
          break;
        }
        case 13: {
          json::object ref;
          ok = each_field(f.bytes, [&](const Field& r) {
            if (r.wire == 2 && r.number == 1) put_string(ref, "kind", r.bytes);
            if (r.wire == 2 && r.number == 3) put_string(ref, "name", r.bytes);
            if (r.wire == 2 && r.number == 4) put_string(ref, "uid", r.bytes);
            if (r.wire == 2 && r.number == 5) put_string(ref, "apiVersion", r.bytes);
            if (r.wire == 0 && r.number == 6) ref["controller"] = r.varint != 0;
            if (r.wire == 0 && r.number == 7) ref["blockOwnerDeletion"] = r.varint != 0;
            return true;
          });
          auto& refs = meta["ownerReferences"];
          if (!refs.is_array()) refs = json::array{};
          refs.as_array().push_back(std::move(ref));
          break;
        }
        case 14:
          append(meta, "finalizers", f.bytes);
          break;
        default:
          break;  // managedFields (17) and anything newer: server-owned or unused
      }
    } else if (f.wire == 0 && f.number == 7 && f.varint != 0) {
      meta["generation"] = static_cast<std::int64_t>(f.varint);
    } else if (f.wire == 0 && f.number == 10) {
      meta["deletionGracePeriodSeconds"] = static_cast<std::int64_t>(f.varint);
    }
    return ok;
  });
}

bool read_spec(std::string_view msg, json::object& spec) {
  return each_field(msg, [&](const Field& f) {
    bool ok = true;
    if (f.wire == 2) {
      switch (f.number) {
        case 1:
          spec["request"] = base64_encode(f.bytes);
          break;
        case 2:
          put_string(spec, "username", f.bytes);
          break;
        case 3:
          put_string(spec, "uid", f.bytes);
          break;
        case 4:
          append(spec, "groups", f.bytes);
          break;
        case 5:
          append(spec, "usages", f.bytes);
          break;
        case 6: {  // map<string, ExtraValue{repeated string items = 1}>
          std::string key;
          json::array items;
          ok = each_field(f.bytes, [&](const Field& e) {
            if (e.wire == 2 && e.number == 1) key = e.bytes;
            if (e.wire == 2 && e.number == 2)
              return each_field(e.bytes, [&](const Field& i) {
                if (i.wire == 2 && i.number == 1) items.push_back(json::value(i.bytes));
                return true;
              });
            return true;
          });
          auto& extra = spec["extra"];
          if (!extra.is_object()) extra = json::object{};
          extra.as_object()[key] = std::move(items);
          break;
        }
        case 7:
          put_string(spec, "signerName", f.bytes);
          break;
        default:
          break;
      }
    } else if (f.wire == 0 && f.number == 8) {
      spec["expirationSeconds"] = static_cast<std::int64_t>(static_cast<std::int32_t>(f.varint));
    }
    return ok;
  });
}

bool read_status(std::string_view msg, json::object& status) {
  return each_field(msg, [&](const Field& f) {
    bool ok = true;
    if (f.wire == 2 && f.number == 1) {
      json::object c;
      ok = each_field(f.bytes, [&](const Field& cf) {
        bool inner = true;
        if (cf.wire != 2) return true;
        switch (cf.number) {
          case 1:
            put_string(c, "type", cf.bytes);
            break;
          case 2:
            put_string(c, "reason", cf.bytes);
            break;
          case 3:
            put_string(c, "message", cf.bytes);
            break;
          case 4:
            if (auto t = read_time(cf.bytes, inner)) c["lastUpdateTime"] = *t;
            break;
          case 5:
            if (auto t = read_time(cf.bytes, inner)) c["lastTransitionTime"] = *t;
            break;
          case 6:
            put_string(c, "status", cf.bytes);
            break;
          default:
            break;
        }
        return inner;
      });
      auto& conds = status["conditions"];
      if (!conds.is_array()) conds = json::array{};
      conds.as_array().push_back(std::move(c));
    } else if (f.wire == 2 && f.number == 2 && !f.bytes.empty()) {
      status["certificate"] = base64_encode(f.bytes);
    }
    return ok;
  });
}

// The runtime.Unknown envelope: (apiVersion, kind, raw).
struct Envelope {
  std::string api_version;
  std::string kind;
  std::string_view raw;
};

Expected<Envelope> open_envelope(std::string_view body) {
  static constexpr std::string_view kMagic("k8s\0", 4);
  if (body.substr(0, 4) != kMagic) return bad_request("protobuf body without the \"k8s\\x00\" prefix");
  Envelope env;
  const bool ok = each_field(body.substr(4), [&](const Field& f) {
    if (f.wire != 2) return true;
    if (f.number == 1)
      return each_field(f.bytes, [&](const Field& t) {
        if (t.wire == 2 && t.number == 1) env.api_version = t.bytes;
        if (t.wire == 2 && t.number == 2) env.kind = t.bytes;
        return true;
      });
    if (f.number == 2) env.raw = f.bytes;
    if (f.number == 3 && !f.bytes.empty()) return false;  // no content encodings are in use
    return true;
  });
  if (!ok) return bad_request("malformed protobuf envelope");
  return env;
}

}  // namespace

Expected<json::object> csr_from_protobuf(std::string_view body) {
  auto env = open_envelope(body);
  if (!env) return env.error();
  if ((!env->kind.empty() && env->kind != "CertificateSigningRequest") ||
      (!env->api_version.empty() && env->api_version != "certificates.k8s.io/v1"))
    return bad_request("the protobuf body holds " + env->api_version + " " + env->kind +
                       ", not certificates.k8s.io/v1 CertificateSigningRequest");
  json::object csr{{"apiVersion", "certificates.k8s.io/v1"}, {"kind", "CertificateSigningRequest"}};
  json::object meta, spec, status;
  const bool ok = each_field(env->raw, [&](const Field& f) {
    if (f.wire != 2) return true;
    if (f.number == 1) return read_object_meta(f.bytes, meta);
    if (f.number == 2) return read_spec(f.bytes, spec);
    if (f.number == 3) return read_status(f.bytes, status);
    return true;
  });
  if (!ok) return bad_request("malformed protobuf CertificateSigningRequest");
  csr["metadata"] = std::move(meta);
  csr["spec"] = std::move(spec);
  csr["status"] = std::move(status);
  return csr;
}

Expected<json::object> delete_options_from_protobuf(std::string_view body) {
  auto env = open_envelope(body);
  if (!env) return env.error();
  json::object opts, pre;
  const bool ok = each_field(env->raw, [&](const Field& f) {
    if (f.wire == 2 && f.number == 2)
      return each_field(f.bytes, [&](const Field& p) {
        if (p.wire == 2 && p.number == 1) put_string(pre, "uid", p.bytes);
        if (p.wire == 2 && p.number == 2) put_string(pre, "resourceVersion", p.bytes);
        return true;
      });
    return true;
  });
  if (!ok) return bad_request("malformed protobuf DeleteOptions");
  if (!pre.empty()) opts["preconditions"] = std::move(pre);
  return opts;
}

// k8s.io/api/authorization/v1/generated.proto: SelfSubjectAccessReview {spec = 2}; its
// spec {resourceAttributes = 1, nonResourceAttributes = 2}; ResourceAttributes {namespace
// = 1, verb = 2, group = 3, version = 4, resource = 5, subresource = 6, name = 7};
// NonResourceAttributes {path = 1, verb = 2}. Field and label selectors are not kept.
Expected<json::object> access_review_from_protobuf(std::string_view body) {
  auto env = open_envelope(body);
  if (!env) return env.error();
  if (!env->kind.empty() && env->kind != "SelfSubjectAccessReview")
    return bad_request("the protobuf body holds " + env->api_version + " " + env->kind +
                       ", not a SelfSubjectAccessReview");
  json::object spec;
  const auto strings = [](std::string_view msg, std::initializer_list<std::pair<std::uint32_t, const char*>> names,
                          json::object& into) {
    return each_field(msg, [&](const Field& f) {
      for (const auto& [n, key] : names)
        if (f.wire == 2 && f.number == n) put_string(into, key, f.bytes);
      return true;
    });
  };
  const bool ok = each_field(env->raw, [&](const Field& f) {
    if (f.wire != 2 || f.number != 2) return true;
    return each_field(f.bytes, [&](const Field& s) {
      if (s.wire == 2 && s.number == 1) {
        json::object attrs;
        if (!strings(s.bytes,
                     {{1, "namespace"}, {2, "verb"}, {3, "group"}, {4, "version"}, {5, "resource"},
                      {6, "subresource"}, {7, "name"}},
                     attrs))
          return false;
        spec["resourceAttributes"] = std::move(attrs);
      }
      if (s.wire == 2 && s.number == 2) {
        json::object attrs;
        if (!strings(s.bytes, {{1, "path"}, {2, "verb"}}, attrs)) return false;
        spec["nonResourceAttributes"] = std::move(attrs);
      }
      return true;
    });
  });
  if (!ok) return bad_request("malformed protobuf SelfSubjectAccessReview");
  return json::object{{"apiVersion", "authorization.k8s.io/v1"},
                      {"kind", "SelfSubjectAccessReview"},
                      {"metadata", json::object{}},
                      {"spec", std::move(spec)}};
}

}  // namespace distls::k8s_double
