#include "tests/k8s/api/kube_api.hpp"

#include <cctype>
#include <charconv>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/k8s/encoding/base64.hpp"
#include "tests/k8s/objects/csr_strategy.hpp"
#include "tests/k8s/api/discovery.hpp"
#include "tests/k8s/objects/object_strategy.hpp"
#include "tests/k8s/objects/object_decoder.hpp"
#include "tests/k8s/api/openapi.hpp"
#include "tests/k8s/encoding/protobuf_body.hpp"
#include "tests/k8s/api/table_printer.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

json::value merge_patch(json::value target, const json::value& patch) {
  if (!patch.is_object()) return patch;
  if (!target.is_object()) target = json::object{};
  auto& t = target.get_object();
  for (const auto& kv : patch.get_object()) {
    if (kv.value().is_null()) {
      t.erase(kv.key());
    } else {
      const auto it = t.find(kv.key());
      t[kv.key()] = merge_patch(it == t.end() ? json::value(nullptr) : it->value(), kv.value());
    }
  }
  return target;
}

namespace {

std::string media_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

Expected<FieldValidation> field_validation(const ApiRequest& req) {
  const std::string v = req.param("fieldValidation");
  if (v.empty() || v == "Warn") return FieldValidation::warn;
  if (v == "Strict") return FieldValidation::strict;
  if (v == "Ignore") return FieldValidation::ignore;
  return bad_request("fieldValidation parameter unsupported: " + v);
}

// Real paths may not hold these (path.IsValidPathSegmentName).
std::optional<std::string> bad_path_segment(const std::string& name) {
  if (name == "." || name == "..") return "may not be '" + name + "'";
  if (name.find('/') != std::string::npos) return std::string("may not contain '/'");
  if (name.find('%') != std::string::npos) return std::string("may not contain '%'");
  return std::nullopt;
}

// Built per request: small, and no state shared between requests.
Schema schema_for(const ResourceType& type) { return type.schema(); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.push_back(json::value(s));
  return a;
}

json::object user_info_json(const UserInfo& user) {
  json::object o{{"username", user.name}};
  if (!user.uid.empty()) o["uid"] = user.uid;
  o["groups"] = string_array(user.groups);
  if (!user.extra.empty()) {
    json::object extra;
    for (const auto& [k, vs] : user.extra) extra[k] = string_array(vs);
    o["extra"] = std::move(extra);
  }
  return o;
}

// The body as JSON text, whichever of the two encodings client-go uses it came in (only
// CSRs are understood in protobuf).
Expected<std::string> json_body(const ApiRequest& req, const ResourceType& type) {
  const std::string mt = media_type(req.content_type);
  if (mt == kProtobufMediaType && &type == &csr_type()) {
    auto obj = csr_from_protobuf(req.body);
    if (!obj) return obj.error();
    return json::serialize(*obj);
  }
  if (!mt.empty() && mt != "application/json") return unsupported_media_type(req.content_type);
  return req.body;
}

Reply with_warnings(Reply r, const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) r.headers.emplace_back("Warning", "299 - " + go_quote(w));
  return r;
}

// An object as GET returns it: with kind and apiVersion first.
json::object full_object(const ResourceType& type, const json::object& obj) {
  json::object out{{"kind", type.kind}, {"apiVersion", type.api_version}};
  for (const auto& kv : obj)
    if (kv.key() != "kind" && kv.key() != "apiVersion") out[kv.key()] = kv.value();
  return out;
}

// List items carry neither kind nor apiVersion: the list says it once.
json::object list_item(const json::object& obj) {
  json::object out = obj;
  out.erase("kind");
  out.erase("apiVersion");
  return out;
}

bool parse_uint(const std::string& s, std::uint64_t& out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string object_key(const json::object& obj) { return namespace_of(obj) + "/" + name_of(obj); }

// The continue token: where the next page starts and the RV of the first page. Opaque to
// clients, as the real one (base64 JSON) is.
std::string continue_token(std::uint64_t rv, const std::string& start) {
  return base64_encode(
      json::serialize(json::object{{"v", "double.k8s.io/v1"}, {"rv", rv}, {"start", start}}));
}

}  // namespace

KubeApi::KubeApi(ObjectStore& store, const RbacAuthorizer& authz, IdSource& ids, Now now,
                 std::chrono::seconds default_watch_timeout)
    : store_(store),
      authz_(authz),
      ids_(ids),
      now_(std::move(now)),
      default_watch_timeout_(default_watch_timeout) {}

Reply KubeApi::forbidden_reply(const UserInfo& user, const Attributes& a, const GroupResource& gr,
                               const std::string& name, const std::string& reason) const {
  std::string why = forbidden_message(user.name, a);
  if (!reason.empty()) why += ": " + reason;
  if (!a.resource_request) return Reply::error({403, "Forbidden", "forbidden: " + why, {}, {}});
  return Reply::error(forbidden(gr, name, why));
}

Outcome KubeApi::handle(const ApiRequest& req, const UserInfo& user) {
  const auto& s = req.segments;
  // A URL under /api/v1 or /apis/GROUP/VERSION that names a resource; anything else is a
  // non-resource URL (discovery, /version, /openapi), authorized by path.
  const bool core = s.size() >= 3 && s[0] == "api" && s[1] == "v1";
  const bool grouped = s.size() >= 4 && s[0] == "apis";
  if (!core && !grouped) {
    Attributes a;
    a.resource_request = false;
    a.verb = lower(req.method);
    a.path = req.path;
    if (const AuthzDecision d = authz_.authorize(user, a); !d.allowed) return forbidden_reply(user, a, {}, "", d.reason);
    const auto discovery = [&](json::object doc) -> Outcome {
      if (req.method != "GET" && req.method != "HEAD")
        return Reply::error({405,
                             "MethodNotAllowed",
                             "the server does not allow this method on the requested resource",
                             {},
                             {}});
      return Reply::json(200, doc);
    };
    if (s.size() == 1 && s[0] == "version") return discovery(version_info());
    if (s.size() == 1 && s[0] == "api") return discovery(api_versions(server_address_));
    if (s.size() == 2 && s[0] == "api" && s[1] == "v1") return discovery(core_v1_resources());
    if (s.size() == 1 && s[0] == "apis") return discovery(api_group_list());
    if (s.size() == 2 && s[0] == "apis")
      if (auto g = api_group(s[1])) return discovery(std::move(*g));
    if (s.size() == 3 && s[0] == "apis")
      if (auto r = group_version_resources(s[1] + "/" + s[2])) return discovery(std::move(*r));
    if (s.size() >= 2 && s[0] == "openapi" && s[1] == "v3") {
      if (s.size() == 2) return discovery(openapi_v3_root());
      std::string gv;
      for (std::size_t i = 2; i < s.size(); ++i) gv += (i > 2 ? "/" : "") + s[i];
      if (auto doc = openapi_v3_group_version(gv)) return discovery(std::move(*doc));
    }
    return Reply::error(path_not_found());
  }

  // /api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUB]], /apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME[/SUB]]
  const std::string group = core ? "" : s[1];
  const std::string version = core ? "v1" : s[2];
  std::size_t i = core ? 2 : 3;
  if (grouped && (s[1] == "authorization.k8s.io" || s[1] == "authentication.k8s.io") && s[2] == "v1" &&
      s.size() == 4)
    return self_review(req, user, s[1]);
  Target t;
  if (s.size() > i + 1 && s[i] == "namespaces") {
    t.ns = s[i + 1];
    i += 2;
  }
  if (i >= s.size() || s.size() - i > 3) return Reply::error(path_not_found());
  t.type = find_type(group, s[i]);
  if (t.type == nullptr || t.type->version() != version) return Reply::error(path_not_found());
  if (!t.type->namespaced && !t.ns.empty()) return Reply::error(path_not_found());
  if (s.size() - i >= 2) t.name = s[i + 1];
  if (s.size() - i == 3) {
    t.sub = s[i + 2];
    if (t.type != &csr_type() || (t.sub != "approval" && t.sub != "status"))
      return Reply::error(path_not_found());
  }
  // A namespaced object is always addressed in its namespace; only collections span them.
  if (t.type->namespaced && t.ns.empty() && !t.name.empty()) return Reply::error(path_not_found());
  return resource_request(req, user, std::move(t));
}

// SelfSubjectAccessReview (`kubectl auth can-i`) and SelfSubjectReview (`kubectl auth
// whoami`): create-only, nothing stored, answered from the requester's own identity.
Outcome KubeApi::self_review(const ApiRequest& req, const UserInfo& user, const std::string& group) {
  const bool access = group == "authorization.k8s.io";
  const std::string resource = req.segments[3];
  if ((access && resource != "selfsubjectaccessreviews") || (!access && resource != "selfsubjectreviews"))
    return Reply::error(path_not_found());
  const GroupResource gr{group, resource};
  if (req.method != "POST") return Reply::error(method_not_supported(gr, lower(req.method)));
  Attributes self{"create", group, resource, "", "", "", true, ""};
  if (const AuthzDecision d = authz_.authorize(user, self); !d.allowed) return forbidden_reply(user, self, gr, "", d.reason);
  const std::string kind = access ? "SelfSubjectAccessReview" : "SelfSubjectReview";
  const std::string api_version = group + "/v1";
  if (!access)
    return Reply::json(201, json::object{{"kind", kind},
                                         {"apiVersion", api_version},
                                         {"metadata", json::object{{"creationTimestamp", nullptr}}},
                                         {"status", json::object{{"userInfo", user_info_json(user)}}}});
  std::string body = req.body;
  if (media_type(req.content_type) == kProtobufMediaType) {
    auto review = access_review_from_protobuf(req.body);
    if (!review) return Reply::error(review.error());
    body = json::serialize(*review);
  }
  auto decoded = decode_object(body, access_review_schema(), kind, api_version, FieldValidation::warn);
  if (!decoded) return Reply::error(decoded.error());
  json::object review = decoded->object;
  Attributes a;
  if (const auto* ra = object_at(review, {"spec", "resourceAttributes"})) {
    a.verb = string_at(*ra, {"verb"});
    a.api_group = string_at(*ra, {"group"});
    a.resource = string_at(*ra, {"resource"});
    a.subresource = string_at(*ra, {"subresource"});
    a.name = string_at(*ra, {"name"});
    a.ns = string_at(*ra, {"namespace"});
  } else if (const auto* nra = object_at(review, {"spec", "nonResourceAttributes"})) {
    a.resource_request = false;
    a.verb = string_at(*nra, {"verb"});
    a.path = string_at(*nra, {"path"});
  } else {
    return Reply::error(invalid(kind + "." + group, "",
                                {{FieldError::Type::invalid, "spec.resourceAttributes", "nil",
                                  "exactly one of nonResourceAttributes or resourceAttributes must be specified"}}));
  }
  const AuthzDecision d = authz_.authorize(user, a);
  json::object status{{"allowed", d.allowed}};
  if (!d.reason.empty()) status["reason"] = d.reason;
  review["kind"] = kind;
  review["apiVersion"] = api_version;
  review["status"] = std::move(status);
  return Reply::json(201, review);
}

Outcome KubeApi::resource_request(const ApiRequest& req, const UserInfo& user, Target t) {
  const bool collection = t.name.empty();
  std::string verb;
  if (req.method == "GET" || req.method == "HEAD")
    verb = collection ? (req.flag("watch") ? "watch" : "list") : "get";
  else if (req.method == "POST" && collection)
    verb = "create";
  else if (req.method == "PUT" && !collection)
    verb = "update";
  else if (req.method == "PATCH" && !collection)
    verb = "patch";
  else if (req.method == "DELETE")
    verb = collection ? "deletecollection" : "delete";
  else
    return Reply::error(method_not_supported(t.type->gr, req.method));

  Attributes attrs{verb, t.type->gr.group, t.type->gr.resource, t.sub, t.name, t.ns, true, ""};
  if (verb == "list" || verb == "watch") {
    // As the RequestInfo resolver does: a list or watch of metadata.name=X is about X.
    if (auto sel = FieldSelector::parse(req.param("fieldSelector"), t.type->field_labels))
      for (const auto& term : sel->terms())
        if (term.key == "metadata.name" && term.equal) attrs.name = term.value;
  }
  if (const AuthzDecision d = authz_.authorize(user, attrs); !d.allowed)
    return forbidden_reply(user, attrs, t.type->gr, t.name, d.reason);

  if (verb == "get") return get(req, t);
  if (verb == "list") return list(req, t);
  if (verb == "watch") return watch(req, t);
  if (verb == "delete") return remove(req, t);
  if (verb == "deletecollection") return remove_collection(req, t);
  // Pods and StatefulSets are the test's to shape, through the control API.
  if (!t.type->writable) return Reply::error(method_not_supported(t.type->gr, verb));
  // A collection create in one namespace, never across all of them.
  if (verb == "create" && t.type->namespaced && t.ns.empty())
    return Reply::error(method_not_supported(t.type->gr, verb));
  if (verb == "create") return create(req, user, t);
  if (verb == "update") return update(req, user, t);
  return patch(req, user, t);
}

Expected<std::pair<FieldSelector, LabelSelector>> KubeApi::selectors(const ApiRequest& req,
                                                                     const ResourceType& type) const {
  auto f = FieldSelector::parse(req.param("fieldSelector"), type.field_labels);
  if (!f) return f.error();
  auto l = LabelSelector::parse(req.param("labelSelector"));
  if (!l) return l.error();
  return std::make_pair(std::move(*f), std::move(*l));
}

bool KubeApi::selected(const Target& t, const FieldSelector& f, const LabelSelector& l,
                       const json::object& obj) const {
  return (t.ns.empty() || namespace_of(obj) == t.ns) && f.matches(t.type->fields(obj)) &&
         l.matches(labels_of(obj));
}

Reply KubeApi::get(const ApiRequest& req, const Target& t) {
  const json::object* obj = store_.get(t.type->gr.resource, t.ns, t.name);
  if (obj == nullptr) return Reply::error(not_found(t.type->gr, t.name));
  const Negotiated n = negotiate(req.accept);
  if (n.table) {
    TableOptions opts{n.table_version, IncludeObject::metadata, now_()};
    const std::string inc = req.param("includeObject");
    if (inc == "Object") opts.include = IncludeObject::object;
    if (inc == "None") opts.include = IncludeObject::none;
    return Reply::json(200, to_table(*t.type, {obj}, string_at(*obj, {"metadata", "resourceVersion"}), opts));
  }
  if (!n.json) return Reply::error(not_acceptable(req.accept));
  return Reply::json(200, full_object(*t.type, *obj));
}

Reply KubeApi::list(const ApiRequest& req, const Target& t) {
  auto sel = selectors(req, *t.type);
  if (!sel) return Reply::error(sel.error());
  std::uint64_t limit = 0;
  if (req.has_param("limit") && !req.param("limit").empty() && !parse_uint(req.param("limit"), limit))
    return Reply::error(bad_request("limit must be a non-negative integer"));

  std::uint64_t list_rv = store_.resource_version();
  std::string start;
  if (const std::string token = req.param("continue"); !token.empty()) {
    const auto decoded = base64_decode(token);
    boost::system::error_code ec;
    const json::value v = decoded ? json::parse(*decoded, ec) : json::value();
    if (!decoded || ec || !v.is_object() || !v.get_object().contains("rv") ||
        !v.get_object().contains("start"))
      return Reply::error(bad_request(
          "continue key is not valid: incorrect encoded start resourceVersion (version double.k8s.io/v1)"));
    list_rv = v.get_object().at("rv").to_number<std::uint64_t>();
    start = std::string(v.get_object().at("start").get_string());
    if (list_rv < store_.compacted_rv())
      return Reply::error(resource_expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a "
          "new "
          "list without the continue parameter, or use the continue token in this response to retrieve the "
          "remainder of the results. Continuing with the provided token results in an inconsistent list - "
          "objects "
          "that were created, modified, or deleted between the time the first chunk was returned and now may "
          "show "
          "up in the list."));
  }

  // Pages hold the objects as they are now, keyed after `start`; the real server pages
  // through a snapshot at the first page's RV instead.
  std::vector<const json::object*> items;
  std::size_t remaining = 0;
  std::string next;
  for (const auto* obj : store_.list(t.type->gr.resource, t.ns)) {
    if (!start.empty() && object_key(*obj) < start) continue;
    if (!selected(t, sel->first, sel->second, *obj)) continue;
    if (limit > 0 && items.size() == limit) {
      if (next.empty()) next = object_key(*obj);
      ++remaining;
      continue;
    }
    items.push_back(obj);
  }

  const Negotiated n = negotiate(req.accept);
  if (n.table) {
    TableOptions opts{n.table_version, IncludeObject::metadata, now_()};
    const std::string inc = req.param("includeObject");
    if (inc == "Object") opts.include = IncludeObject::object;
    if (inc == "None") opts.include = IncludeObject::none;
    json::object table = to_table(*t.type, items, std::to_string(list_rv), opts);
    if (!next.empty()) {
      table["metadata"].as_object()["continue"] = continue_token(list_rv, next);
      table["metadata"].as_object()["remainingItemCount"] = remaining;
    }
    return Reply::json(200, table);
  }
  if (!n.json) return Reply::error(not_acceptable(req.accept));
  json::array out;
  for (const auto* obj : items) out.push_back(list_item(*obj));
  json::object meta{{"resourceVersion", std::to_string(list_rv)}};
  if (!next.empty()) {
    meta["continue"] = continue_token(list_rv, next);
    meta["remainingItemCount"] = remaining;
  }
  return Reply::json(200, json::object{{"kind", t.type->list_kind()},
                                       {"apiVersion", t.type->api_version},
                                       {"metadata", std::move(meta)},
                                       {"items", std::move(out)}});
}

Outcome KubeApi::watch(const ApiRequest& req, const Target& t) {
  auto sel = selectors(req, *t.type);
  if (!sel) return Reply::error(sel.error());
  WatchSpec spec;
  spec.type = t.type;
  spec.ns = t.ns;
  spec.fields = std::move(sel->first);
  spec.labels = std::move(sel->second);
  const std::string rv = req.param("resourceVersion");
  if (rv.empty() || rv == "0") {
    spec.initial_state = true;
  } else if (!parse_uint(rv, spec.since)) {
    return Reply::error(bad_request("invalid resource version: " + go_quote(rv)));
  }
  if (req.flag("sendInitialEvents")) {
    spec.initial_state = true;
    spec.initial_events_end = true;
  }
  spec.bookmarks = req.flag("allowWatchBookmarks");
  spec.timeout = default_watch_timeout_;
  if (const std::string ts = req.param("timeoutSeconds"); !ts.empty()) {
    std::uint64_t secs = 0;
    if (!parse_uint(ts, secs))
      return Reply::error(bad_request("timeoutSeconds must be a non-negative integer"));
    if (secs > 0) spec.timeout = std::chrono::seconds(secs);
  }
  const Negotiated n = negotiate(req.accept);
  if (n.table) {
    TableOptions opts{n.table_version, IncludeObject::metadata, now_()};
    if (req.param("includeObject") == "Object") opts.include = IncludeObject::object;
    if (req.param("includeObject") == "None") opts.include = IncludeObject::none;
    spec.table = opts;
  } else if (!n.json) {
    return Reply::error(not_acceptable(req.accept));
  }
  return spec;
}

Reply KubeApi::create(const ApiRequest& req, const UserInfo& user, const Target& t) {
  const auto body = json_body(req, *t.type);
  if (!body) return Reply::error(body.error());
  const auto mode = field_validation(req);
  if (!mode) return Reply::error(mode.error());
  auto decoded = decode_object(*body, schema_for(*t.type), t.type->kind, t.type->api_version, *mode);
  if (!decoded) return Reply::error(decoded.error());
  if (auto why = bad_path_segment(string_at(decoded->object, {"metadata", "name"})))
    return Reply::error(
        bad_request("Name parameter invalid: " + go_quote(string_at(decoded->object, {"metadata", "name"})) +
                    ": " + *why));
  auto obj = t.type == &csr_type() ? csr_for_create(std::move(decoded->object), user, ids_, now_())
                                   : object_for_create(*t.type, std::move(decoded->object), t.ns, ids_, now_());
  if (!obj) return Reply::error(obj.error());
  const std::string name = name_of(*obj);
  if (store_.get(t.type->gr.resource, t.ns, name) != nullptr)
    return Reply::error(already_exists(t.type->gr, name));
  if (req.param("dryRun") == "All") return with_warnings(Reply::json(201, *obj), decoded->warnings);
  const json::object& stored = store_.put(t.type->gr.resource, std::move(*obj), EventType::added);
  return with_warnings(Reply::json(201, full_object(*t.type, stored)), decoded->warnings);
}

Reply KubeApi::update(const ApiRequest& req, const UserInfo& user, const Target& t) {
  const auto body = json_body(req, *t.type);
  if (!body) return Reply::error(body.error());
  const auto mode = field_validation(req);
  if (!mode) return Reply::error(mode.error());
  auto decoded = decode_object(*body, schema_for(*t.type), t.type->kind, t.type->api_version, *mode);
  if (!decoded) return Reply::error(decoded.error());
  return apply_update(req, user, t, std::move(decoded->object), std::move(decoded->warnings));
}

Reply KubeApi::patch(const ApiRequest& req, const UserInfo& user, const Target& t) {
  const std::string mt = media_type(req.content_type);
  // A strategic merge patch of a CSR only differs from a merge patch in how it merges
  // status.conditions (by type); the double applies both as RFC 7386 merge patches.
  if (mt != "application/merge-patch+json" && mt != "application/strategic-merge-patch+json")
    return Reply::error(
        {415,
         "UnsupportedMediaType",
         "the body of the request was in an unknown format - accepted media types include: "
         "application/merge-patch+json, application/strategic-merge-patch+json (this test double)",
         {},
         {}});
  const json::object* current = store_.get(t.type->gr.resource, t.ns, t.name);
  if (current == nullptr) return Reply::error(not_found(t.type->gr, t.name));
  boost::system::error_code ec;
  const json::value p = json::parse(req.body, ec);
  if (ec || !p.is_object()) return Reply::error(bad_request("error decoding patch: invalid JSON"));
  // Applied to the stored object, resourceVersion included: the update then only
  // conflicts when the patch names another resourceVersion itself.
  const json::value patched = merge_patch(full_object(*t.type, *current), p);
  const auto mode = field_validation(req);
  if (!mode) return Reply::error(mode.error());
  auto decoded =
      decode_object(json::serialize(patched), schema_for(*t.type), t.type->kind, t.type->api_version, *mode);
  if (!decoded) return Reply::error(decoded.error());
  return apply_update(req, user, t, std::move(decoded->object), std::move(decoded->warnings));
}

Reply KubeApi::apply_update(const ApiRequest& req, const UserInfo& user, const Target& t,
                            json::object incoming, std::vector<std::string> warnings) {
  // handlers/rest.go checkName: a body without a name does not name the URL's object either.
  const std::string body_name = string_at(incoming, {"metadata", "name"});
  if (body_name != t.name)
    return Reply::error(bad_request("the name of the object (" + body_name +
                                    ") does not match the name on the URL (" + t.name + ")"));
  if (const std::string body_ns = string_at(incoming, {"metadata", "namespace"});
      t.type->namespaced && !body_ns.empty() && body_ns != t.ns)
    return Reply::error(bad_request("the namespace of the object (" + body_ns +
                                    ") does not match the namespace on the URL (" + t.ns + ")"));
  const json::object* current = store_.get(t.type->gr.resource, t.ns, t.name);
  if (current == nullptr) return Reply::error(not_found(t.type->gr, t.name));
  const json::object old = *current;

  // Preconditions, checked against storage as GuaranteedUpdate does.
  const std::string uid = string_at(incoming, {"metadata", "uid"});
  const std::string old_uid = string_at(old, {"metadata", "uid"});
  if (!uid.empty() && uid != old_uid)
    return Reply::error(
        conflict(t.type->gr, t.name,
                 "Precondition failed: UID in precondition: " + uid + ", UID in object meta: " + old_uid));
  const std::string rv = string_at(incoming, {"metadata", "resourceVersion"});
  if (!rv.empty() && rv != string_at(old, {"metadata", "resourceVersion"}))
    return Reply::error(conflict(
        t.type->gr, t.name,
        "the object has been modified; please apply your changes to the latest version and try again"));
  if (rv.empty() && !t.type->unconditional_update)
    return Reply::error(invalid(t.type->qualified_kind(), t.name,
                                {{FieldError::Type::invalid, "metadata.resourceVersion", "0x0",
                                  "must be specified for an update"}}));

  if (t.type != &csr_type()) {
    auto next = object_for_update(*t.type, std::move(incoming), old);
    if (!next) return Reply::error(next.error());
    return store_update(req, t, old, std::move(*next), warnings);
  }

  const CsrUpdate which = t.sub == "approval" ? CsrUpdate::approval
                          : t.sub == "status" ? CsrUpdate::status
                                              : CsrUpdate::object;
  auto next = csr_for_update(which, std::move(incoming), old, now_());
  if (!next) return Reply::error(next.error());

  // The CertificateApproval and CertificateSigning admission plugins
  // (plugin/pkg/admission/certificates/{approval,signing}, IsAuthorizedForSignerName):
  // approving needs verb "approve" on resource "signers" named after the signer (or
  // "domain/*"), on every update of /approval; an update of /status that changes
  // status.certificate or status.conditions needs "sign" on it.
  const std::string signer = string_at(old, {"spec", "signerName"});
  const auto may = [&](const char* verb) {
    const std::string wildcard = signer.substr(0, signer.find('/')) + "/*";
    return authz_.allowed(user, {verb, "certificates.k8s.io", "signers", "", signer, "", true, ""}) ||
           authz_.allowed(user, {verb, "certificates.k8s.io", "signers", "", wildcard, "", true, ""});
  };
  const auto status_part = [](const json::object& csr, const char* key) {
    const auto* status = object_at(csr, {"status"});
    const auto* v = status != nullptr ? status->if_contains(key) : nullptr;
    return v != nullptr ? *v : json::value();
  };
  if (which == CsrUpdate::approval && !may("approve"))
    return Reply::error(forbidden(
        t.type->gr, t.name, "user not permitted to approve requests with signerName " + go_quote(signer)));
  if (which == CsrUpdate::status &&
      (status_part(*next, "certificate") != status_part(old, "certificate") ||
       status_part(*next, "conditions") != status_part(old, "conditions")) &&
      !may("sign"))
    return Reply::error(forbidden(t.type->gr, t.name,
                                  "user not permitted to sign requests with signerName " + go_quote(signer)));

  return store_update(req, t, old, std::move(*next), warnings);
}

Reply KubeApi::store_update(const ApiRequest& req, const Target& t, const json::object& old,
                            json::object next, const std::vector<std::string>& warnings) {
  // A write that changes nothing is not a write: same RV, no watch event.
  json::object unchanged = old;
  unchanged["metadata"].as_object()["resourceVersion"] = "";
  json::object candidate = next;
  candidate["metadata"].as_object()["resourceVersion"] = "";
  if (candidate == unchanged || req.param("dryRun") == "All") {
    if (req.param("dryRun") == "All") {
      candidate["metadata"].as_object()["resourceVersion"] = string_at(old, {"metadata", "resourceVersion"});
      return with_warnings(Reply::json(200, full_object(*t.type, candidate)), warnings);
    }
    return with_warnings(Reply::json(200, full_object(*t.type, old)), warnings);
  }
  const json::object& stored = store_.put(t.type->gr.resource, std::move(next), EventType::modified);
  return with_warnings(Reply::json(200, full_object(*t.type, stored)), warnings);
}

Reply KubeApi::remove(const ApiRequest& req, const Target& t) {
  const json::object* current = store_.get(t.type->gr.resource, t.ns, t.name);
  if (current == nullptr) return Reply::error(not_found(t.type->gr, t.name));
  if (!req.body.empty()) {
    // DeleteOptions arrive as meta.k8s.io/v1 or v1 depending on the client; only the
    // preconditions matter here.
    json::object opts;
    if (media_type(req.content_type) == kProtobufMediaType) {
      auto decoded = delete_options_from_protobuf(req.body);
      if (!decoded) return Reply::error(decoded.error());
      opts = std::move(*decoded);
    } else {
      boost::system::error_code ec;
      const json::value v = json::parse(req.body, ec);
      if (ec || !v.is_object())
        return Reply::error(bad_request("couldn't decode DeleteOptions: invalid JSON"));
      opts = v.get_object();
    }
    const std::string uid = string_at(opts, {"preconditions", "uid"});
    const std::string rv = string_at(opts, {"preconditions", "resourceVersion"});
    const std::string old_uid = string_at(*current, {"metadata", "uid"});
    const std::string old_rv = string_at(*current, {"metadata", "resourceVersion"});
    if (!uid.empty() && uid != old_uid)
      return Reply::error(
          conflict(t.type->gr, t.name,
                   "Precondition failed: UID in precondition: " + uid + ", UID in object meta: " + old_uid));
    if (!rv.empty() && rv != old_rv)
      return Reply::error(conflict(t.type->gr, t.name,
                                   "Precondition failed: ResourceVersion in precondition: " + rv +
                                       ", ResourceVersion in object meta: " + old_rv));
  }
  const std::string uid = string_at(*current, {"metadata", "uid"});
  json::object gone = *current;
  if (req.param("dryRun") != "All") gone = *store_.remove(t.type->gr.resource, t.ns, t.name);
  if (t.type == &pod_type()) return Reply::json(200, full_object(*t.type, gone));
  // Immediate deletion without ReturnDeletedObject: a Success Status naming the object.
  json::object details{
      {"name", t.name}, {"group", t.type->gr.group}, {"kind", t.type->gr.resource}, {"uid", uid}};
  return Reply::json(200, json::object{{"kind", "Status"},
                                       {"apiVersion", "v1"},
                                       {"metadata", json::object{}},
                                       {"status", "Success"},
                                       {"details", std::move(details)}});
}

Reply KubeApi::remove_collection(const ApiRequest& req, const Target& t) {
  auto sel = selectors(req, *t.type);
  if (!sel) return Reply::error(sel.error());
  std::vector<std::pair<std::string, std::string>> doomed;
  for (const auto* obj : store_.list(t.type->gr.resource, t.ns))
    if (selected(t, sel->first, sel->second, *obj)) doomed.emplace_back(namespace_of(*obj), name_of(*obj));
  json::array items;
  for (const auto& [ns, name] : doomed) {
    if (req.param("dryRun") == "All") {
      items.push_back(list_item(*store_.get(t.type->gr.resource, ns, name)));
    } else if (auto gone = store_.remove(t.type->gr.resource, ns, name)) {
      items.push_back(list_item(*gone));
    }
  }
  return Reply::json(
      200,
      json::object{{"kind", t.type->list_kind()},
                   {"apiVersion", t.type->api_version},
                   {"metadata", json::object{{"resourceVersion", std::to_string(store_.resource_version())}}},
                   {"items", std::move(items)}});
}

}  // namespace distls::k8s_double
