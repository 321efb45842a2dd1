#include "tests/k8s/control/control_api.hpp"

#include <charconv>
#include <map>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/k8s/objects/object_strategy.hpp"
#include "tests/k8s/auth/rbac_rules.hpp"
#include "tests/k8s/objects/resource_types.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

Expected<json::value> parse_body(const ApiRequest& req) {
  if (req.body.empty()) return json::value(json::object{});
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return bad_request("control API body is not JSON: " + ec.message());
  return v;
}

Reply method_not_allowed(const ApiRequest& req) {
  return Reply::error({405, "MethodNotAllowed", req.method + " is not supported on " + req.path, {}, {}});
}

json::object token_json(const TokenRegistry::Entry& e) {
  json::array groups;
  for (const auto& g : e.user.groups) groups.push_back(json::value(g));
  json::object o{
      {"token", e.token}, {"user", e.user.name}, {"uid", e.user.uid}, {"groups", std::move(groups)}};
  if (e.expires) o["expires"] = format_time(*e.expires);
  if (!e.user.extra.empty()) {
    json::object extra;
    for (const auto& [k, vs] : e.user.extra) {
      json::array a;
      for (const auto& v : vs) a.push_back(json::value(v));
      extra[k] = std::move(a);
    }
    o["extra"] = std::move(extra);
  }
  if (e.pod) o["boundPod"] = json::object{{"namespace", e.pod->ns}, {"name", e.pod->name}, {"uid", e.pod->uid}};
  return o;
}

// {"user", "groups"?, "token"?, "expiresInSeconds"?, "boundPod"?}
struct TokenRequest {
  std::string user;
  std::vector<std::string> groups;
  std::string token;
  std::optional<std::chrono::seconds> ttl;
  std::string bound_pod;
};

Expected<TokenRequest> token_request(const json::value& v) {
  if (!v.is_object()) return bad_request("expected an object {user, groups?, token?, expiresInSeconds?}");
  const auto& o = v.get_object();
  TokenRequest r;
  r.user = string_at(o, {"user"});
  r.token = string_at(o, {"token"});
  if (r.user.empty()) return bad_request("user is required");
  if (const auto it = o.find("groups"); it != o.end()) {
    if (!it->value().is_array()) return bad_request("groups is an array of strings");
    for (const auto& g : it->value().get_array()) {
      if (!g.is_string()) return bad_request("groups is an array of strings");
      r.groups.emplace_back(g.get_string());
    }
  }
  if (const auto it = o.find("expiresInSeconds"); it != o.end()) {
    if (!it->value().is_int64() || it->value().get_int64() <= 0)
      return bad_request("expiresInSeconds is a positive integer");
    r.ttl = std::chrono::seconds(it->value().get_int64());
  }
  if (const auto it = o.find("boundPod"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_string() || it->value().get_string().empty())
      return bad_request("boundPod is the name of a pod in the service account's namespace");
    r.bound_pod = it->value().get_string();
  }
  return r;
}

// What a TokenRequest with a bound Pod object checks (pkg/registry/core/serviceaccount/
// storage/token.go): the pod exists in the service account's namespace and runs as it.
Expected<std::optional<BoundPod>> bound_pod(const ObjectStore& store, const TokenRequest& r) {
  if (r.bound_pod.empty()) return std::optional<BoundPod>();
  const auto groups = service_account_groups(r.user);
  if (groups.empty()) return bad_request("boundPod needs a service-account user (system:serviceaccount:NS:SA)");
  const std::string rest = r.user.substr(std::string("system:serviceaccount:").size());
  const std::string ns = rest.substr(0, rest.find(':'));
  const std::string sa = rest.substr(rest.find(':') + 1);
  const json::object* pod = store.get("pods", ns, r.bound_pod);
  if (pod == nullptr) return not_found({"", "pods"}, r.bound_pod);
  const std::string runs_as = string_at(*pod, {"spec", "serviceAccountName"});
  if (runs_as != sa)
    return bad_request("cannot bind token for serviceaccount " + go_quote(sa) + " to pod running with serviceaccount " +
                       go_quote(runs_as));
  return std::optional<BoundPod>(
      BoundPod{ns, r.bound_pod, string_at(*pod, {"metadata", "uid"}), string_at(*pod, {"spec", "nodeName"})});
}

// The objects behind PUT /_double/permissions/{users,groups}/NAME: one ClusterRole +
// ClusterRoleBinding for the rules without "namespaces", one Role + RoleBinding per named
// namespace, all called "double:user:NAME" / "double:group:NAME".
std::string grant_name(bool user, const std::string& subject) {
  return std::string(user ? "double:user:" : "double:group:") + subject;
}

void revoke_grant(ObjectStore& store, const std::string& name) {
  store.remove("clusterroles", "", name);
  store.remove("clusterrolebindings", "", name);
  for (const char* resource : {"roles", "rolebindings"}) {
    std::vector<std::string> namespaces;
    for (const auto* o : store.list(resource, ""))
      if (name_of(*o) == name) namespaces.push_back(namespace_of(*o));
    for (const auto& ns : namespaces) store.remove(resource, ns, name);
  }
}

json::object rbac_object(const ResourceType& type, const std::string& name, const std::string& ns) {
  json::object meta{{"name", name}};
  if (!ns.empty()) meta["namespace"] = ns;
  meta["labels"] = json::object{{"double.k8s.io/grant", "true"}};
  return {{"kind", type.kind}, {"apiVersion", type.api_version}, {"metadata", std::move(meta)}};
}

}  // namespace

Expected<json::object> normalize_pod(const json::value& body, const std::string& ns, const std::string& name,
                                     const json::object* existing, IdSource& ids,
                                     std::chrono::system_clock::time_point now) {
  if (!body.is_object()) return bad_request("a pod is a JSON object");
  json::object pod = body.get_object();
  if (const auto k = string_at(pod, {"kind"}); !k.empty() && k != "Pod")
    return bad_request("kind must be Pod");
  auto& meta_v = pod["metadata"];
  if (!meta_v.is_object()) meta_v = json::object{};
  auto& meta = meta_v.get_object();
  for (const auto& [key, want] :
       {std::pair<const char*, const std::string&>{"name", name}, {"namespace", ns}}) {
    const std::string have = string_at(meta, {key});
    if (!have.empty() && have != want)
      return bad_request(std::string("metadata.") + key + " " + go_quote(have) +
                         " does not match the URL's " + go_quote(want));
    meta[key] = want;
  }
  meta.erase("resourceVersion");
  if (existing != nullptr) {
    meta["uid"] = string_at(*existing, {"metadata", "uid"});
    meta["creationTimestamp"] = string_at(*existing, {"metadata", "creationTimestamp"});
  } else {
    if (string_at(meta, {"uid"}).empty()) meta["uid"] = ids.uid();
    if (string_at(meta, {"creationTimestamp"}).empty()) meta["creationTimestamp"] = format_time(now);
  }

  auto& spec_v = pod["spec"];
  if (!spec_v.is_object()) spec_v = json::object{};
  auto& spec = spec_v.get_object();
  if (string_at(spec, {"serviceAccountName"}).empty()) spec["serviceAccountName"] = "default";
  // Every real pod has a container (clients such as the official Python one refuse a
  // PodSpec without): one stands in when the test gives none.
  if (const auto* c = spec.if_contains("containers"); c == nullptr || !c->is_array() || c->get_array().empty())
    spec["containers"] = json::array{json::object{{"name", "app"}, {"image", "app"}}};

  auto& status_v = pod["status"];
  if (!status_v.is_object()) status_v = json::object{};
  auto& status = status_v.get_object();
  const std::string ip = string_at(status, {"podIP"});
  const auto ips = status.find("podIPs");
  const bool have_ips = ips != status.end() && ips->value().is_array() && !ips->value().get_array().empty();
  // A pod gets its IP once its sandbox runs: before that it is Pending, without one.
  if (string_at(status, {"phase"}).empty()) status["phase"] = ip.empty() && !have_ips ? "Pending" : "Running";
  if (!ip.empty() && !have_ips) status["podIPs"] = json::array{json::object{{"ip", ip}}};
  if (ip.empty() && have_ips && ips->value().get_array().front().is_object())
    status["podIP"] = string_at(ips->value().get_array().front().get_object(), {"ip"});
  if (have_ips && !ip.empty() && ips->value().get_array().front().is_object() &&
      string_at(ips->value().get_array().front().get_object(), {"ip"}) != ip)
    return bad_request("status.podIP must be status.podIPs[0].ip");

  json::object out{{"kind", "Pod"}, {"apiVersion", "v1"}};
  for (const char* k : {"metadata", "spec", "status"}) out[k] = pod[k];
  for (const auto& kv : pod)
    if (!out.contains(kv.key())) out[kv.key()] = kv.value();
  return out;
}

Expected<json::object> normalize_statefulset(const json::value& body, const std::string& ns, const std::string& name,
                                             const json::object* existing, IdSource& ids,
                                             std::chrono::system_clock::time_point now) {
  if (!body.is_object()) return bad_request("a StatefulSet is a JSON object");
  json::object sts = body.get_object();
  if (const auto k = string_at(sts, {"kind"}); !k.empty() && k != "StatefulSet")
    return bad_request("kind must be StatefulSet");
  auto& meta_v = sts["metadata"];
  if (!meta_v.is_object()) meta_v = json::object{};
  auto& meta = meta_v.get_object();
  meta["name"] = name;
  meta["namespace"] = ns;
  meta.erase("resourceVersion");
  if (existing != nullptr) {
    meta["uid"] = string_at(*existing, {"metadata", "uid"});
    meta["creationTimestamp"] = string_at(*existing, {"metadata", "creationTimestamp"});
  } else {
    if (string_at(meta, {"uid"}).empty()) meta["uid"] = ids.uid();
    if (string_at(meta, {"creationTimestamp"}).empty()) meta["creationTimestamp"] = format_time(now);
  }
  auto& spec_v = sts["spec"];
  if (!spec_v.is_object()) spec_v = json::object{};
  if (!spec_v.get_object().contains("replicas")) spec_v.get_object()["replicas"] = 1;
  json::object out{{"kind", "StatefulSet"}, {"apiVersion", "apps/v1"}};
  for (const char* k : {"metadata", "spec"}) out[k] = sts[k];
  for (const auto& kv : sts)
    if (!out.contains(kv.key())) out[kv.key()] = kv.value();
  return out;
}

Expected<std::size_t> apply_rbac(ObjectStore& store, const json::value& list, IdSource& ids,
                                 std::chrono::system_clock::time_point now) {
  if (!list.is_object()) return bad_request("expected a List of RBAC objects, or one");
  json::array items;
  if (const auto* i = list.get_object().if_contains("items"); i != nullptr && i->is_array())
    items = i->get_array();
  else
    items.push_back(list);
  std::vector<std::pair<const ResourceType*, json::object>> ready;
  for (const auto& item : items) {
    if (!item.is_object()) return bad_request("a List's items are objects");
    const auto& o = item.get_object();
    const std::string kind = string_at(o, {"kind"});
    const ResourceType* type = nullptr;
    for (const auto* t : {&role_type(), &cluster_role_type(), &role_binding_type(), &cluster_role_binding_type()})
      if (t->kind == kind && string_at(o, {"apiVersion"}) == t->api_version) type = t;
    if (type == nullptr)
      return bad_request("not an rbac.authorization.k8s.io/v1 object: " + string_at(o, {"apiVersion"}) + " " + kind);
    const std::string ns = type->namespaced ? namespace_of(o) : "";
    if (type->namespaced && ns.empty()) return bad_request(kind + " " + go_quote(name_of(o)) + " has no namespace");
    auto decoded = decode_object(boost::json::serialize(o), type->schema(), type->kind, type->api_version,
                                 FieldValidation::strict);
    if (!decoded) return decoded.error();
    json::object& d = decoded->object;
    auto& meta = d["metadata"].as_object();
    for (const char* k : {"resourceVersion", "uid", "creationTimestamp"}) meta.erase(k);
    auto obj = object_for_create(*type, std::move(d), ns, ids, now);
    if (!obj) return obj.error();
    ready.emplace_back(type, std::move(*obj));
  }
  for (auto& [type, obj] : ready) {
    const json::object* old = store.get(type->gr.resource, namespace_of(obj), name_of(obj));
    if (old != nullptr) {
      obj["metadata"].as_object()["uid"] = string_at(*old, {"metadata", "uid"});
      obj["metadata"].as_object()["creationTimestamp"] = string_at(*old, {"metadata", "creationTimestamp"});
    }
    store.put(type->gr.resource, std::move(obj), old == nullptr ? EventType::added : EventType::modified);
  }
  return ready.size();
}

Reply ControlApi::handle(const ApiRequest& req) {
  const auto& s = req.segments;  // s[0] == "_double"
  const std::string what = s.size() > 1 ? s[1] : "";
  if (what == "namespaces" && s.size() == 5 && s[3] == "pods") return pods(req, s[2], s[4]);
  if (what == "namespaces" && s.size() == 5 && s[3] == "statefulsets") return statefulsets(req, s[2], s[4]);
  if (what == "rbac" && s.size() == 2) return rbac(req);
  if (what == "pods" && s.size() == 2) {
    if (req.method != "GET") return method_not_allowed(req);
    json::array items;
    for (const auto* p : store_.list("pods", "")) items.push_back(*p);
    return Reply::json(200, json::object{{"items", std::move(items)}});
  }
  if (what == "permissions") return permissions(req);
  if (what == "tokens") return tokens(req);
  if (what == "faults") return faults(req);
  if (what == "watches") return watches(req);
  if (what == "requests") return requests(req);
  if (what == "compact" && s.size() == 2) return compact(req);
  if (what == "status" && s.size() == 2) {
    return Reply::json(200, json::object{{"resourceVersion", std::to_string(store_.resource_version())},
                                         {"compactedResourceVersion", std::to_string(store_.compacted_rv())},
                                         {"watches", watches_.list().size()},
                                         {"faults", faults_.rules().size()},
                                         {"lastRequestSeq", log_.last_seq()}});
  }
  return Reply::error(
      {404, "NotFound", "no control endpoint " + req.path + " (see tests/k8s/README.md)", {}, {}});
}

Reply ControlApi::pods(const ApiRequest& req, const std::string& ns, const std::string& name) {
  const json::object* existing = store_.get("pods", ns, name);
  if (req.method == "GET") {
    if (existing == nullptr) return Reply::error(not_found({"", "pods"}, name));
    return Reply::json(200, *existing);
  }
  if (req.method == "DELETE") {
    auto gone = store_.remove("pods", ns, name);
    if (!gone) return Reply::error(not_found({"", "pods"}, name));
    return Reply::json(200, *gone);
  }
  if (req.method != "PUT") return method_not_allowed(req);
  auto body = parse_body(req);
  if (!body) return Reply::error(body.error());
  auto pod = normalize_pod(*body, ns, name, existing, ids_, now_());
  if (!pod) return Reply::error(pod.error());
  const bool fresh = existing == nullptr;
  const json::object& stored =
      store_.put("pods", std::move(*pod), fresh ? EventType::added : EventType::modified);
  return Reply::json(fresh ? 201 : 200, stored);
}

Reply ControlApi::statefulsets(const ApiRequest& req, const std::string& ns, const std::string& name) {
  const json::object* existing = store_.get("statefulsets", ns, name);
  if (req.method == "GET") {
    if (existing == nullptr) return Reply::error(not_found({"apps", "statefulsets"}, name));
    return Reply::json(200, *existing);
  }
  if (req.method == "DELETE") {
    auto gone = store_.remove("statefulsets", ns, name);
    if (!gone) return Reply::error(not_found({"apps", "statefulsets"}, name));
    return Reply::json(200, *gone);
  }
  if (req.method != "PUT") return method_not_allowed(req);
  auto body = parse_body(req);
  if (!body) return Reply::error(body.error());
  auto sts = normalize_statefulset(*body, ns, name, existing, ids_, now_());
  if (!sts) return Reply::error(sts.error());
  const bool fresh = existing == nullptr;
  return Reply::json(fresh ? 201 : 200,
                     store_.put("statefulsets", std::move(*sts), fresh ? EventType::added : EventType::modified));
}

Reply ControlApi::rbac(const ApiRequest& req) {
  if (req.method != "POST") return method_not_allowed(req);
  auto body = parse_body(req);
  if (!body) return Reply::error(body.error());
  auto n = apply_rbac(store_, *body, ids_, now_());
  if (!n) return Reply::error(n.error());
  return Reply::json(200, json::object{{"applied", *n}});
}

Reply ControlApi::permissions(const ApiRequest& req) {
  const auto& s = req.segments;
  if (s.size() == 2) {
    if (req.method != "GET") return method_not_allowed(req);
    json::object out;
    for (const char* resource : {"clusterroles", "clusterrolebindings", "roles", "rolebindings"}) {
      json::array items;
      for (const auto* o : store_.list(resource, "")) items.push_back(*o);
      out[resource] = std::move(items);
    }
    return Reply::json(200, out);
  }
  if (s.size() != 4 || (s[2] != "users" && s[2] != "groups"))
    return Reply::error(
        bad_request("use /_double/permissions/users/NAME or /_double/permissions/groups/NAME"));
  const bool user = s[2] == "users";
  const std::string name = grant_name(user, s[3]);
  if (req.method == "DELETE") {
    const bool existed = store_.get("clusterroles", "", name) != nullptr || store_.get("clusterrolebindings", "", name);
    revoke_grant(store_, name);
    return Reply::json(200, json::object{{"removed", existed}});
  }
  if (req.method != "PUT") return method_not_allowed(req);
  auto body = parse_body(req);
  if (!body) return Reply::error(body.error());
  const json::value* rules_v = body->is_object() ? body->get_object().if_contains("rules") : nullptr;
  if (rules_v == nullptr || !rules_v->is_array())
    return Reply::error(bad_request("expected {\"rules\": [...]}"));
  // Rules without "namespaces" go to the ClusterRole; the others to a Role in each namespace.
  json::array cluster_rules;
  std::map<std::string, json::array> namespaced;
  for (const auto& r : rules_v->get_array()) {
    auto rule = PolicyRule::from_json(r);
    if (!rule) return Reply::error(rule.error());
    std::vector<std::string> namespaces;
    if (const auto* n = r.get_object().if_contains("namespaces"); n != nullptr && n->is_array())
      for (const auto& ns : n->get_array())
        if (ns.is_string()) namespaces.emplace_back(ns.get_string());
    if (namespaces.empty())
      cluster_rules.push_back(rule->to_json());
    else
      for (const auto& ns : namespaces) namespaced[ns].push_back(rule->to_json());
  }
  const json::object subject{{"apiGroup", "rbac.authorization.k8s.io"},
                             {"kind", user ? "User" : "Group"},
                             {"name", s[3]}};
  json::array items;
  const auto add = [&](const std::string& ns, json::array rules) {
    json::object role = rbac_object(ns.empty() ? cluster_role_type() : role_type(), name, ns);
    role["rules"] = std::move(rules);
    json::object binding = rbac_object(ns.empty() ? cluster_role_binding_type() : role_binding_type(), name, ns);
    binding["roleRef"] = json::object{
        {"apiGroup", "rbac.authorization.k8s.io"}, {"kind", ns.empty() ? "ClusterRole" : "Role"}, {"name", name}};
    binding["subjects"] = json::array{subject};
    items.push_back(std::move(role));
    items.push_back(std::move(binding));
  };
  if (!cluster_rules.empty()) add("", std::move(cluster_rules));
  for (auto& [ns, rules] : namespaced) add(ns, std::move(rules));
  // Validated before anything changes, so a bad rule leaves the old grant in place.
  ObjectStore scratch(1);
  if (auto checked = apply_rbac(scratch, json::object{{"items", items}}, ids_, now_()); !checked)
    return Reply::error(checked.error());
  revoke_grant(store_, name);
  auto applied = apply_rbac(store_, json::object{{"items", items}}, ids_, now_());
  if (!applied) return Reply::error(applied.error());
  return Reply::json(200, json::object{{"items", std::move(items)}});
}

Reply ControlApi::tokens(const ApiRequest& req) {
  const auto& s = req.segments;
  if (s.size() == 2 && req.method == "GET") {
    json::array items;
    for (const auto& e : tokens_.entries()) items.push_back(token_json(e));
    return Reply::json(200, json::object{{"items", std::move(items)}});
  }
  if (s.size() == 2 && req.method == "POST") {
    auto body = parse_body(req);
    if (!body) return Reply::error(body.error());
    auto tr = token_request(*body);
    if (!tr) return Reply::error(tr.error());
    auto pod = bound_pod(store_, *tr);
    if (!pod) return Reply::error(pod.error());
    return Reply::json(201, token_json(tokens_.add(tr->token, tr->user, tr->groups, tr->ttl, *pod)));
  }
  if (s.size() == 3 && s[2] == "rotate" && req.method == "POST") {
    auto body = parse_body(req);
    if (!body) return Reply::error(body.error());
    auto tr = token_request(*body);
    if (!tr) return Reply::error(tr.error());
    const bool revoke_old =
        !(body->get_object().contains("revokeOld") && body->get_object().at("revokeOld").is_bool() &&
          !body->get_object().at("revokeOld").get_bool());
    auto pod = bound_pod(store_, *tr);
    if (!pod) return Reply::error(pod.error());
    json::object out = token_json(tokens_.add(tr->token, tr->user, tr->groups, tr->ttl, *pod));
    out["revoked"] = revoke_old ? tokens_.revoke_user(tr->user, std::string(out["token"].get_string())) : 0;
    return Reply::json(201, out);
  }
  if (s.size() == 3 && req.method == "DELETE")
    return Reply::json(200, json::object{{"revoked", tokens_.revoke(s[2])}});
  return method_not_allowed(req);
}

Reply ControlApi::faults(const ApiRequest& req) {
  if (req.segments.size() != 2) return method_not_allowed(req);
  if (req.method == "GET") {
    json::array items;
    for (const auto& r : faults_.rules()) items.push_back(r.to_json());
    return Reply::json(200, json::object{{"items", std::move(items)}});
  }
  if (req.method == "DELETE") {
    faults_.clear();
    return Reply::json(200, json::object{});
  }
  if (req.method != "POST") return method_not_allowed(req);
  auto body = parse_body(req);
  if (!body) return Reply::error(body.error());
  auto rule = FaultRule::from_json(*body);
  if (!rule) return Reply::error(rule.error());
  const auto id = faults_.add(*rule);
  json::object out = faults_.rules().back().to_json();
  out["id"] = id;
  return Reply::json(201, out);
}

Reply ControlApi::watches(const ApiRequest& req) {
  const auto& s = req.segments;
  if (s.size() == 2 && req.method == "GET") {
    json::array items;
    for (const auto& w : watches_.list()) items.push_back(w.to_json());
    return Reply::json(200, json::object{{"items", std::move(items)}});
  }
  if (s.size() == 3 && s[2] == "close" && req.method == "POST")
    return Reply::json(200, json::object{{"closed", watches_.close_all()}});
  if (s.size() == 3 && s[2] == "bookmark" && req.method == "POST")
    return Reply::json(200, json::object{{"bookmarked", watches_.bookmark_all()}});
  return method_not_allowed(req);
}

Reply ControlApi::requests(const ApiRequest& req) {
  if (req.segments.size() != 2) return method_not_allowed(req);
  if (req.method == "DELETE") {
    log_.clear();
    return Reply::json(200, json::object{});
  }
  if (req.method != "GET") return method_not_allowed(req);
  std::uint64_t since = 0;
  if (const std::string v = req.param("since"); !v.empty()) {
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), since);
    if (ec != std::errc() || p != v.data() + v.size())
      return Reply::error(bad_request("since is a sequence number"));
  }
  json::array items;
  for (const auto& e : log_.since(since)) items.push_back(e.to_json());
  return Reply::json(200, json::object{{"items", std::move(items)}, {"lastSeq", log_.last_seq()}});
}

Reply ControlApi::compact(const ApiRequest& req) {
  if (req.method != "POST") return method_not_allowed(req);
  auto body = parse_body(req);
  if (!body) return Reply::error(body.error());
  std::optional<std::uint64_t> up_to;
  if (body->is_object())
    if (const std::string rv = string_at(body->get_object(), {"resourceVersion"}); !rv.empty()) {
      std::uint64_t n = 0;
      if (!parse_resource_version(rv, n))
        return Reply::error(bad_request("resourceVersion is a decimal string"));
      up_to = n;
    }
  store_.compact(up_to);
  return Reply::json(200, json::object{{"compactedResourceVersion", std::to_string(store_.compacted_rv())},
                                       {"resourceVersion", std::to_string(store_.resource_version())}});
}

}  // namespace distls::k8s_double
