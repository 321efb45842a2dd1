// The Kubernetes API proper: discovery, certificatesigningrequests (create, get, list,
// watch, update, /approval, /status, patch, delete, deletecollection), leases, events and
// the four RBAC kinds (the same without subresources), pods and statefulsets (get, list,
// watch, delete), and the self-reviews behind `kubectl auth can-i` / `whoami`.
// Authorization (RBAC) happens here, since only the API knows verb and resource; the caller
// has authenticated the user. A watch comes back as a WatchSpec for the HTTP server to stream.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <variant>

#include "tests/k8s/http/api_request.hpp"
#include "tests/k8s/encoding/json_util.hpp"
#include "tests/k8s/store/object_store.hpp"
#include "tests/k8s/auth/rbac_authorizer.hpp"
#include "tests/k8s/auth/user_info.hpp"
#include "tests/k8s/store/watch_stream.hpp"

namespace distls::k8s_double {

using Outcome = std::variant<Reply, WatchSpec>;

class KubeApi {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;

  KubeApi(ObjectStore& store, const RbacAuthorizer& authz, IdSource& ids, Now now,
          std::chrono::seconds default_watch_timeout);

  // "127.0.0.1:PORT", for /api's serverAddressByClientCIDRs; known once listening.
  void set_server_address(std::string a) { server_address_ = std::move(a); }

  Outcome handle(const ApiRequest& req, const UserInfo& user);

 private:
  struct Target {
    const ResourceType* type = nullptr;
    std::string ns;
    std::string name;
    std::string sub;  // "", "approval", "status"
  };

  Outcome self_review(const ApiRequest& req, const UserInfo& user, const std::string& group);
  Reply forbidden_reply(const UserInfo& user, const Attributes& a, const GroupResource& gr, const std::string& name,
                        const std::string& reason) const;
  Outcome resource_request(const ApiRequest& req, const UserInfo& user, Target t);
  Reply get(const ApiRequest& req, const Target& t);
  Reply list(const ApiRequest& req, const Target& t);
  Outcome watch(const ApiRequest& req, const Target& t);
  Reply create(const ApiRequest& req, const UserInfo& user, const Target& t);
  Reply update(const ApiRequest& req, const UserInfo& user, const Target& t);
  Reply patch(const ApiRequest& req, const UserInfo& user, const Target& t);
  Reply apply_update(const ApiRequest& req, const UserInfo& user, const Target& t,
                     boost::json::object incoming, std::vector<std::string> warnings);
  Reply store_update(const ApiRequest& req, const Target& t, const boost::json::object& old,
                     boost::json::object next, const std::vector<std::string>& warnings);
  Reply remove(const ApiRequest& req, const Target& t);
  Reply remove_collection(const ApiRequest& req, const Target& t);

  // The request's selectors; 400 on bad syntax or unsupported field labels.
  Expected<std::pair<FieldSelector, LabelSelector>> selectors(const ApiRequest& req,
                                                              const ResourceType& type) const;
  bool selected(const Target& t, const FieldSelector& f, const LabelSelector& l,
                const boost::json::object& obj) const;

  ObjectStore& store_;
  const RbacAuthorizer& authz_;
  IdSource& ids_;
  Now now_;
  std::chrono::seconds default_watch_timeout_;
  std::string server_address_ = "127.0.0.1:443";
};

// RFC 7386 JSON merge patch (null removes a member; objects merge; everything else replaces).
boost::json::value merge_patch(boost::json::value target, const boost::json::value& patch);

}  // namespace distls::k8s_double
