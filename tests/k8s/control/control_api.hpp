// The test's side door, under /_double/ and for the admin token only: shape pods and
// StatefulSets, grant permissions (as RBAC objects), load RBAC, add/revoke/rotate tokens
// (legacy or bound to a pod), inject failures, compact watch history, end or bookmark open
// watches, and read the request log. README.md documents every endpoint.
#pragma once

#include <chrono>
#include <functional>

#include "tests/k8s/http/api_request.hpp"
#include "tests/k8s/control/fault_injector.hpp"
#include "tests/k8s/encoding/json_util.hpp"
#include "tests/k8s/store/object_store.hpp"
#include "tests/k8s/http/request_log.hpp"
#include "tests/k8s/auth/token_registry.hpp"
#include "tests/k8s/store/watch_hub.hpp"

namespace distls::k8s_double {

class ControlApi {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;

  ControlApi(ObjectStore& store, TokenRegistry& tokens, FaultInjector& faults, RequestLog& log,
             WatchHub& watches, IdSource& ids, Now now)
      : store_(store),
        tokens_(tokens),
        faults_(faults),
        log_(log),
        watches_(watches),
        ids_(ids),
        now_(std::move(now)) {}

  // `req.segments` starts with "_double".
  Reply handle(const ApiRequest& req);

 private:
  Reply pods(const ApiRequest& req, const std::string& ns, const std::string& name);
  Reply statefulsets(const ApiRequest& req, const std::string& ns, const std::string& name);
  Reply permissions(const ApiRequest& req);
  Reply rbac(const ApiRequest& req);
  Reply tokens(const ApiRequest& req);
  Reply faults(const ApiRequest& req);
  Reply watches(const ApiRequest& req);
  Reply requests(const ApiRequest& req);
  Reply compact(const ApiRequest& req);

  ObjectStore& store_;
  TokenRegistry& tokens_;
  FaultInjector& faults_;
  RequestLog& log_;
  WatchHub& watches_;
  IdSource& ids_;
  Now now_;
};

// The pod the control API stores for a PUT body: name and namespace from the URL, uid and
// creationTimestamp kept from `existing` (or fresh), any other metadata (labels,
// ownerReferences...) as given, status.podIP and status.podIPs completed from each other,
// serviceAccountName defaulted to "default", one container when it has none (every real
// pod has one) and phase to "Running" when the pod has an IP,
// "Pending" when it has none yet.
Expected<boost::json::object> normalize_pod(const boost::json::value& body, const std::string& ns,
                                            const std::string& name, const boost::json::object* existing,
                                            IdSource& ids, std::chrono::system_clock::time_point now);

// A StatefulSet as the control API stores it: apps/v1, name and namespace from the URL,
// uid and creationTimestamp kept or fresh, spec as given (replicas defaulted to 1).
Expected<boost::json::object> normalize_statefulset(const boost::json::value& body, const std::string& ns,
                                                    const std::string& name, const boost::json::object* existing,
                                                    IdSource& ids, std::chrono::system_clock::time_point now);

// Creates or replaces every Role, ClusterRole, RoleBinding and ClusterRoleBinding of a
// List ({"kind":"List","items":[...]}, or one object), validated as the API validates
// them (422 on the first invalid one; nothing is stored then). Other kinds: 400. Returns
// how many objects were stored.
Expected<std::size_t> apply_rbac(ObjectStore& store, const boost::json::value& list, IdSource& ids,
                                 std::chrono::system_clock::time_point now);

}  // namespace distls::k8s_double
