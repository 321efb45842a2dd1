#include "tests/k8s/objects/object_strategy.hpp"

#include <set>

#include <boost/json/serialize.hpp>

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

using FT = FieldError::Type;

// kind and apiVersion first, then metadata, then the rest in the order the client sent it.
json::object canonical(const ResourceType& type, json::object in) {
  json::object out{{"kind", type.kind}, {"apiVersion", type.api_version}};
  out["metadata"] = in["metadata"].is_object() ? in["metadata"] : json::object{};
  for (const auto& kv : in)
    if (!out.contains(kv.key())) out[kv.key()] = kv.value();
  return out;
}

}  // namespace

Expected<json::object> object_for_create(const ResourceType& type, json::object in, const std::string& ns,
                                         IdSource& ids, std::chrono::system_clock::time_point now) {
  auto& meta_v = in["metadata"];
  if (!meta_v.is_object()) meta_v = json::object{};
  auto& meta = meta_v.as_object();
  if (type.namespaced) {
    if (const std::string body_ns = string_at(meta, {"namespace"}); !body_ns.empty() && body_ns != ns)
      return bad_request(
          "the namespace of the provided object does not match the namespace sent on the request");
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");  // cluster-scoped: BeforeCreate clears it
  }
  if (!string_at(meta, {"resourceVersion"}).empty())
    return bad_request("resourceVersion should not be set on objects to be created");
  std::string name = string_at(meta, {"name"});
  if (name.empty() && string_at(meta, {"generateName"}).empty())
    return invalid(type.qualified_kind(), "",
                   {{FT::required, "metadata.name", "", "name or generateName is required"}});
  if (name.empty()) name = string_at(meta, {"generateName"}) + ids.name_suffix();
  meta["name"] = name;
  meta["uid"] = ids.uid();
  meta["creationTimestamp"] = format_time(now);
  for (const char* k : {"selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"})
    meta.erase(k);
  json::object out = canonical(type, std::move(in));
  if (type.defaults != nullptr) type.defaults(out);
  if (type.validate != nullptr)
    if (auto errs = type.validate(out, nullptr); !errs.empty()) return invalid(type.qualified_kind(), name, errs);
  return out;
}

Expected<json::object> object_for_update(const ResourceType& type, json::object next, const json::object& old) {
  auto& meta_v = next["metadata"];
  if (!meta_v.is_object()) meta_v = json::object{};
  auto& meta = meta_v.as_object();
  const json::object old_meta = object_at(old, {"metadata"}) ? *object_at(old, {"metadata"}) : json::object{};
  for (const char* k : {"name", "namespace", "uid", "creationTimestamp", "generation"}) {
    if (const auto* v = old_meta.if_contains(k))
      meta[k] = *v;
    else
      meta.erase(k);
  }
  for (const char* k : {"selfLink", "managedFields"}) meta.erase(k);
  json::object out = canonical(type, std::move(next));
  if (type.defaults != nullptr) type.defaults(out);
  if (type.validate != nullptr)
    if (auto errs = type.validate(out, &old); !errs.empty()) return invalid(type.qualified_kind(), name_of(old), errs);
  return out;
}

std::vector<FieldError> validate_lease(const json::object& lease, const json::object*) {
  std::vector<FieldError> errs;
  if (const auto* spec = object_at(lease, {"spec"})) {
    if (const auto* d = spec->if_contains("leaseDurationSeconds");
        d != nullptr && d->is_number() && d->to_number<long long>() <= 0)
      errs.push_back({FT::invalid, "spec.leaseDurationSeconds", std::to_string(d->to_number<long long>()),
                      "must be greater than 0"});
    if (const auto* t = spec->if_contains("leaseTransitions");
        t != nullptr && t->is_number() && t->to_number<long long>() < 0)
      errs.push_back({FT::invalid, "spec.leaseTransitions", std::to_string(t->to_number<long long>()),
                      "must be greater than or equal to 0"});
  }
  return errs;
}

std::vector<FieldError> validate_configmap(const json::object& cm, const json::object* old) {
  std::vector<FieldError> errs;
  std::set<std::string> seen;
  for (const char* field : {"data", "binaryData"}) {
    const auto* m = cm.if_contains(field);
    if (m == nullptr || !m->is_object()) continue;
    for (const auto& kv : m->as_object()) {
      const std::string key(kv.key());
      const bool chars_ok = !key.empty() && key.size() <= 253 && key != "." && key != ".." &&
                            key.find_first_not_of("-._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
                                std::string::npos;
      if (!chars_ok)
        errs.push_back({FT::invalid, std::string(field) + "[" + key + "]", go_quote(key),
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"});
      else if (!seen.insert(key).second)
        errs.push_back({FT::invalid, std::string(field) + "[" + key + "]", go_quote(key),
                        "duplicate of key present in data"});
    }
  }
  if (old != nullptr) {
    const auto* was_immutable = old->if_contains("immutable");
    if (was_immutable && was_immutable->is_bool() && was_immutable->as_bool()) {
      const auto* now = cm.if_contains("immutable");
      if (!now || !now->is_bool() || !now->as_bool())
        errs.push_back({FT::forbidden, "immutable", "", "field is immutable when `immutable` is set"});
      for (const char* field : {"data", "binaryData"}) {
        const auto* a = old->if_contains(field);
        const auto* b = cm.if_contains(field);
        if ((a ? json::serialize(*a) : "{}") != (b ? json::serialize(*b) : "{}"))
          errs.push_back({FT::forbidden, field, "", "field is immutable when `immutable` is set"});
      }
    }
  }
  return errs;
}

std::vector<FieldError> validate_event(const json::object& event, const json::object*) {
  std::vector<FieldError> errs;
  const std::string ns = namespace_of(event);
  const std::string involved_ns = string_at(event, {"involvedObject", "namespace"});
  const bool new_style = !string_at(event, {"eventTime"}).empty();
  // The event of a cluster-scoped object lives in "default" (client-go's recorder puts it
  // there); a namespaced object's event lives in the object's namespace.
  const bool ns_ok = involved_ns.empty()
                         ? (ns.empty() || ns == "default" || (new_style && ns == "kube-system"))
                         : ns == involved_ns;
  if (!ns_ok)
    errs.push_back({FT::invalid, "involvedObject.namespace", go_quote(involved_ns), "does not match event.namespace"});
  if (new_style) {
    for (const char* f : {"reportingComponent", "reportingInstance", "action", "reason"})
      if (string_at(event, {f}).empty()) errs.push_back({FT::required, f, "", ""});
  }
  return errs;
}

namespace {

std::vector<std::string> strings_at(const json::object& o, const char* key) {
  std::vector<std::string> out;
  if (const auto* v = o.if_contains(key); v != nullptr && v->is_array())
    for (const auto& s : v->get_array())
      if (s.is_string()) out.emplace_back(s.get_string());
  return out;
}

std::string render_strings(const std::vector<std::string>& v) {
  std::string s = "[]string{";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + go_quote(v[i]);
  return s + "}";
}

std::string supported(std::initializer_list<const char*> values) {
  std::string s = "supported values: ";
  bool first = true;
  for (const char* v : values) {
    s += (first ? "" : ", ") + go_quote(v);
    first = false;
  }
  return s;
}

// ValidatePolicyRule.
std::vector<FieldError> validate_rules(const json::object& role, bool namespaced) {
  std::vector<FieldError> errs;
  const auto* rules = role.if_contains("rules");
  if (rules == nullptr || !rules->is_array()) return errs;
  for (std::size_t i = 0; i < rules->get_array().size(); ++i) {
    const auto& rv = rules->get_array()[i];
    if (!rv.is_object()) continue;
    const auto& r = rv.get_object();
    const std::string at = "rules[" + std::to_string(i) + "]";
    if (strings_at(r, "verbs").empty())
      errs.push_back({FT::required, at + ".verbs", "", "verbs must contain at least one value"});
    const auto urls = strings_at(r, "nonResourceURLs");
    if (!urls.empty()) {
      if (namespaced)
        errs.push_back({FT::invalid, at + ".nonResourceURLs", render_strings(urls),
                        "namespaced rules cannot apply to non-resource URLs"});
      if (!strings_at(r, "apiGroups").empty() || !strings_at(r, "resources").empty() ||
          !strings_at(r, "resourceNames").empty())
        errs.push_back({FT::invalid, at + ".nonResourceURLs", render_strings(urls),
                        "rules cannot apply to both regular resources and non-resource URLs"});
      continue;
    }
    if (strings_at(r, "apiGroups").empty())
      errs.push_back({FT::required, at + ".apiGroups", "", "resource rules must supply at least one api group"});
    if (strings_at(r, "resources").empty())
      errs.push_back({FT::required, at + ".resources", "", "resource rules must supply at least one resource"});
  }
  return errs;
}

// ValidateRoleBinding / ValidateClusterRoleBinding (+ the update rule on roleRef).
std::vector<FieldError> validate_binding(const json::object& b, const json::object* old, bool cluster) {
  std::vector<FieldError> errs;
  const std::string ref_group = string_at(b, {"roleRef", "apiGroup"});
  const std::string ref_kind = string_at(b, {"roleRef", "kind"});
  const std::string ref_name = string_at(b, {"roleRef", "name"});
  if (ref_group != "rbac.authorization.k8s.io")
    errs.push_back({FT::not_supported, "roleRef.apiGroup", go_quote(ref_group), supported({"rbac.authorization.k8s.io"})});
  if (cluster && ref_kind != "ClusterRole")
    errs.push_back({FT::not_supported, "roleRef.kind", go_quote(ref_kind), supported({"ClusterRole"})});
  if (!cluster && ref_kind != "Role" && ref_kind != "ClusterRole")
    errs.push_back({FT::not_supported, "roleRef.kind", go_quote(ref_kind), supported({"Role", "ClusterRole"})});
  if (ref_name.empty()) errs.push_back({FT::required, "roleRef.name", "", ""});
  if (const auto* subjects = b.if_contains("subjects"); subjects != nullptr && subjects->is_array()) {
    for (std::size_t i = 0; i < subjects->get_array().size(); ++i) {
      const auto& sv = subjects->get_array()[i];
      if (!sv.is_object()) continue;
      const auto& s = sv.get_object();
      const std::string at = "subjects[" + std::to_string(i) + "]";
      const std::string kind = string_at(s, {"kind"});
      const std::string group = string_at(s, {"apiGroup"});
      if (string_at(s, {"name"}).empty()) errs.push_back({FT::required, at + ".name", "", ""});
      if (kind == "ServiceAccount") {
        if (!group.empty()) errs.push_back({FT::not_supported, at + ".apiGroup", go_quote(group), supported({""})});
        if (cluster && string_at(s, {"namespace"}).empty())
          errs.push_back({FT::required, at + ".namespace", "", ""});
      } else if (kind == "User" || kind == "Group") {
        if (group != "rbac.authorization.k8s.io")
          errs.push_back(
              {FT::not_supported, at + ".apiGroup", go_quote(group), supported({"rbac.authorization.k8s.io"})});
      } else {
        errs.push_back(
            {FT::not_supported, at + ".kind", go_quote(kind), supported({"ServiceAccount", "User", "Group"})});
      }
    }
  }
  if (old != nullptr) {
    const auto* a = object_at(b, {"roleRef"});
    const auto* o = object_at(*old, {"roleRef"});
    if ((a == nullptr) != (o == nullptr) || (a != nullptr && *a != *o))
      errs.push_back({FT::invalid, "roleRef",
                      "rbac.RoleRef{APIGroup:" + go_quote(ref_group) + ", Kind:" + go_quote(ref_kind) +
                          ", Name:" + go_quote(ref_name) + "}",
                      "cannot change roleRef"});
  }
  return errs;
}

}  // namespace

void default_subjects(json::object& binding) {
  auto* subjects = binding.if_contains("subjects");
  if (subjects == nullptr || !subjects->is_array()) return;
  for (auto& sv : subjects->get_array()) {
    if (!sv.is_object()) continue;
    auto& s = sv.get_object();
    const std::string kind = string_at(s, {"kind"});
    if (string_at(s, {"apiGroup"}).empty() && (kind == "User" || kind == "Group"))
      s["apiGroup"] = "rbac.authorization.k8s.io";
  }
}

std::vector<FieldError> validate_role(const json::object& role, const json::object*) {
  return validate_rules(role, true);
}
std::vector<FieldError> validate_cluster_role(const json::object& role, const json::object*) {
  return validate_rules(role, false);
}
std::vector<FieldError> validate_role_binding(const json::object& b, const json::object* old) {
  return validate_binding(b, old, false);
}
std::vector<FieldError> validate_cluster_role_binding(const json::object& b, const json::object* old) {
  return validate_binding(b, old, true);
}

}  // namespace distls::k8s_double
