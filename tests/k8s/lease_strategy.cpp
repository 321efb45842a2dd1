#include "tests/k8s/lease_strategy.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

using FT = FieldError::Type;

std::vector<FieldError> validate(const json::object& lease) {
  std::vector<FieldError> errs;
  if (const auto* spec = object_at(lease, {"spec"})) {
    if (const auto* d = spec->if_contains("leaseDurationSeconds");
        d != nullptr && d->to_number<long long>() <= 0)
      errs.push_back({FT::invalid, "spec.leaseDurationSeconds", std::to_string(d->to_number<long long>()),
                      "must be greater than 0"});
    if (const auto* t = spec->if_contains("leaseTransitions"); t != nullptr && t->to_number<long long>() < 0)
      errs.push_back({FT::invalid, "spec.leaseTransitions", std::to_string(t->to_number<long long>()),
                      "must be greater than or equal to 0"});
  }
  return errs;
}

json::object canonical(json::object in) {
  json::object out{{"kind", "Lease"}, {"apiVersion", "coordination.k8s.io/v1"}};
  out["metadata"] = in["metadata"].is_object() ? in["metadata"] : json::object{};
  out["spec"] = in["spec"].is_object() ? in["spec"] : json::object{};
  return out;
}

}  // namespace

Expected<json::object> lease_for_create(json::object in, const std::string& ns, IdSource& ids,
                                        std::chrono::system_clock::time_point now) {
  auto& meta_v = in["metadata"];
  if (!meta_v.is_object()) meta_v = json::object{};
  auto& meta = meta_v.as_object();
  if (const std::string body_ns = string_at(meta, {"namespace"}); !body_ns.empty() && body_ns != ns)
    return bad_request(
        "the namespace of the provided object does not match the namespace sent on the request");
  if (!string_at(meta, {"resourceVersion"}).empty())
    return bad_request("resourceVersion should not be set on objects to be created");
  std::string name = string_at(meta, {"name"});
  if (name.empty() && string_at(meta, {"generateName"}).empty())
    return invalid("Lease.coordination.k8s.io", "",
                   {{FT::required, "metadata.name", "", "name or generateName is required"}});
  if (name.empty()) name = string_at(meta, {"generateName"}) + ids.name_suffix();
  meta["name"] = name;
  meta["namespace"] = ns;
  meta["uid"] = ids.uid();
  meta["creationTimestamp"] = format_time(now);
  for (const char* k : {"selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"})
    meta.erase(k);
  json::object out = canonical(std::move(in));
  if (auto errs = validate(out); !errs.empty()) return invalid("Lease.coordination.k8s.io", name, errs);
  return out;
}

Expected<json::object> lease_for_update(json::object next, const json::object& old) {
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
  json::object out = canonical(std::move(next));
  if (auto errs = validate(out); !errs.empty())
    return invalid("Lease.coordination.k8s.io", name_of(old), errs);
  return out;
}

}  // namespace distls::k8s_double
