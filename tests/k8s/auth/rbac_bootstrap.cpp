#include "tests/k8s/auth/rbac_bootstrap.hpp"

#include <boost/json/array.hpp>

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

json::array strings(std::initializer_list<const char*> l) {
  json::array a;
  for (const char* s : l) a.push_back(json::value(s));
  return a;
}

json::object meta(const char* name, IdSource& ids, std::chrono::system_clock::time_point now) {
  return {{"name", name},
          {"uid", ids.uid()},
          {"creationTimestamp", format_time(now)},
          {"labels", json::object{{"kubernetes.io/bootstrapping", "rbac-defaults"}}},
          {"annotations", json::object{{"rbac.authorization.kubernetes.io/autoupdate", "true"}}}};
}

json::object cluster_role(const char* name, json::array rules, IdSource& ids,
                          std::chrono::system_clock::time_point now) {
  return {{"kind", "ClusterRole"},
          {"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"metadata", meta(name, ids, now)},
          {"rules", std::move(rules)}};
}

json::object binding(const char* name, std::initializer_list<const char*> groups, IdSource& ids,
                     std::chrono::system_clock::time_point now) {
  json::array subjects;
  for (const char* g : groups)
    subjects.push_back(json::object{{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Group"}, {"name", g}});
  return {{"kind", "ClusterRoleBinding"},
          {"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"metadata", meta(name, ids, now)},
          {"roleRef", json::object{{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", name}}},
          {"subjects", std::move(subjects)}};
}

}  // namespace

void install_bootstrap_policy(ObjectStore& store, IdSource& ids, std::chrono::system_clock::time_point now) {
  store.put("clusterroles",
            cluster_role("cluster-admin",
                         {json::object{{"apiGroups", strings({"*"})}, {"resources", strings({"*"})}, {"verbs", strings({"*"})}},
                          json::object{{"nonResourceURLs", strings({"*"})}, {"verbs", strings({"*"})}}},
                         ids, now),
            EventType::added);
  store.put("clusterroles",
            cluster_role("system:discovery",
                         {json::object{{"nonResourceURLs", strings({"/api", "/api/*", "/apis", "/apis/*", "/healthz",
                                                                    "/livez", "/openapi", "/openapi/*", "/readyz",
                                                                    "/version", "/version/"})},
                                       {"verbs", strings({"get"})}}},
                         ids, now),
            EventType::added);
  store.put("clusterroles",
            cluster_role("system:public-info-viewer",
                         {json::object{{"nonResourceURLs", strings({"/healthz", "/livez", "/readyz", "/version", "/version/"})},
                                       {"verbs", strings({"get"})}}},
                         ids, now),
            EventType::added);
  store.put("clusterroles",
            cluster_role("system:basic-user",
                         {json::object{{"apiGroups", strings({"authorization.k8s.io"})},
                                       {"resources", strings({"selfsubjectaccessreviews", "selfsubjectrulesreviews"})},
                                       {"verbs", strings({"create"})}},
                          json::object{{"apiGroups", strings({"authentication.k8s.io"})},
                                       {"resources", strings({"selfsubjectreviews"})},
                                       {"verbs", strings({"create"})}}},
                         ids, now),
            EventType::added);
  store.put("clusterrolebindings", binding("cluster-admin", {"system:masters"}, ids, now), EventType::added);
  store.put("clusterrolebindings", binding("system:discovery", {"system:authenticated"}, ids, now), EventType::added);
  store.put("clusterrolebindings",
            binding("system:public-info-viewer", {"system:authenticated", "system:unauthenticated"}, ids, now),
            EventType::added);
  store.put("clusterrolebindings", binding("system:basic-user", {"system:authenticated"}, ids, now), EventType::added);
}

}  // namespace distls::k8s_double
