#include "tests/k8s/control_api.hpp"

#include <charconv>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

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
  return o;
}

// {"user", "groups"?, "token"?, "expiresInSeconds"?}
struct TokenRequest {
  std::string user;
  std::vector<std::string> groups;
  std::string token;
  std::optional<std::chrono::seconds> ttl;
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
  return r;
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

  auto& status_v = pod["status"];
  if (!status_v.is_object()) status_v = json::object{};
  auto& status = status_v.get_object();
  if (string_at(status, {"phase"}).empty()) status["phase"] = "Running";
  const std::string ip = string_at(status, {"podIP"});
  const auto ips = status.find("podIPs");
  const bool have_ips = ips != status.end() && ips->value().is_array() && !ips->value().get_array().empty();
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

Reply ControlApi::handle(const ApiRequest& req) {
  const auto& s = req.segments;  // s[0] == "_double"
  const std::string what = s.size() > 1 ? s[1] : "";
  if (what == "namespaces" && s.size() == 5 && s[3] == "pods") return pods(req, s[2], s[4]);
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

Reply ControlApi::permissions(const ApiRequest& req) {
  const auto& s = req.segments;
  if (s.size() == 2) {
    if (req.method != "GET") return method_not_allowed(req);
    return Reply::json(200, rules_.to_json());
  }
  if (s.size() != 4 || (s[2] != "users" && s[2] != "groups"))
    return Reply::error(
        bad_request("use /_double/permissions/users/NAME or /_double/permissions/groups/NAME"));
  const bool user = s[2] == "users";
  if (req.method == "DELETE") {
    const bool removed = user ? rules_.remove_user(s[3]) : rules_.remove_group(s[3]);
    return Reply::json(200, json::object{{"removed", removed}});
  }
  if (req.method != "PUT") return method_not_allowed(req);
  auto body = parse_body(req);
  if (!body) return Reply::error(body.error());
  const json::value* rules_v = body->is_object() ? body->get_object().if_contains("rules") : nullptr;
  if (rules_v == nullptr || !rules_v->is_array())
    return Reply::error(bad_request("expected {\"rules\": [...]}"));
  std::vector<Rule> rules;
  for (const auto& r : rules_v->get_array()) {
    auto rule = Rule::from_json(r);
    if (!rule) return Reply::error(rule.error());
    rules.push_back(std::move(*rule));
  }
  if (user)
    rules_.set_user(s[3], std::move(rules));
  else
    rules_.set_group(s[3], std::move(rules));
  return Reply::json(200, rules_.to_json());
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
    return Reply::json(201, token_json(tokens_.add(tr->token, tr->user, tr->groups, tr->ttl)));
  }
  if (s.size() == 3 && s[2] == "rotate" && req.method == "POST") {
    auto body = parse_body(req);
    if (!body) return Reply::error(body.error());
    auto tr = token_request(*body);
    if (!tr) return Reply::error(tr.error());
    const bool revoke_old =
        !(body->get_object().contains("revokeOld") && body->get_object().at("revokeOld").is_bool() &&
          !body->get_object().at("revokeOld").get_bool());
    json::object out = token_json(tokens_.add(tr->token, tr->user, tr->groups, tr->ttl));
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
