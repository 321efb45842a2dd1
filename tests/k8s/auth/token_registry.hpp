// Bearer tokens and the users they stand for: the double's token authenticator. Tokens can
// be added, revoked and rotated while it runs, and may expire, as projected
// service-account tokens do.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/k8s/encoding/json_util.hpp"
#include "tests/k8s/auth/user_info.hpp"

namespace distls::k8s_double {

// The groups the service-account authenticator gives `system:serviceaccount:NS:SA`, or
// nothing for any other user. Every authenticated user also gets system:authenticated.
std::vector<std::string> service_account_groups(const std::string& user);

// "--token TOKEN=USER[:GROUP1,GROUP2]". A service-account USER is its four colon-separated
// fields (system:serviceaccount:NS:SA); any other USER is one field, so a user whose name
// holds colons and is not a service account can only be added through the control API.
struct TokenSpec {
  std::string token;
  std::string user;
  std::vector<std::string> groups;
};
std::optional<TokenSpec> parse_token_spec(std::string_view text);

// The pod a projected service-account token is bound to, as the TokenRequest captured it:
// its uid at issuance and the node it was scheduled on then ("" when not scheduled).
struct BoundPod {
  std::string ns;
  std::string name;
  std::string uid;
  std::string node;
};

// The user.Info extra keys of a pod-bound token (k8s.io/apiserver/pkg/authentication/
// serviceaccount ServiceAccountInfo.UserInfo, user.CredentialIDKey).
inline constexpr const char* kPodNameKey = "authentication.kubernetes.io/pod-name";
inline constexpr const char* kPodUidKey = "authentication.kubernetes.io/pod-uid";
inline constexpr const char* kNodeNameKey = "authentication.kubernetes.io/node-name";
inline constexpr const char* kNodeUidKey = "authentication.kubernetes.io/node-uid";
inline constexpr const char* kCredentialIdKey = "authentication.kubernetes.io/credential-id";

class TokenRegistry {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;
  // The uid of pod NS/NAME as it is now, nullopt when there is no such pod.
  using PodUid = std::function<std::optional<std::string>(const std::string& ns, const std::string& name)>;

  struct Entry {
    std::string token;
    UserInfo user;
    std::optional<std::chrono::system_clock::time_point> expires;
    std::optional<BoundPod> pod;
  };

  TokenRegistry(IdSource& ids, Now now) : ids_(ids), now_(std::move(now)) {}
  void set_pod_lookup(PodUid f) { pod_uid_ = std::move(f); }

  // token "" picks a random one. The user's groups: `extra_groups`, the service-account
  // groups when it is one, and system:authenticated. A user keeps one uid for all its tokens.
  // Without `pod` the token is a legacy (secret-based) one: no extra. With `pod` it is a
  // projected token bound to that pod: extra pod-name, pod-uid, node-name and node-uid when
  // the pod had a node, and credential-id "JTI=<uuid>" (one JTI per token).
  const Entry& add(std::string token, const std::string& user, const std::vector<std::string>& extra_groups,
                   std::optional<std::chrono::seconds> ttl = std::nullopt,
                   std::optional<BoundPod> pod = std::nullopt);
  bool revoke(const std::string& token);
  // Revokes every token of `user` but `keep` that is bound to the same pod name as `keep`
  // (or, for a legacy `keep`, every other legacy token of the user); returns how many.
  std::size_t revoke_user(const std::string& user, const std::string& keep);

  // From an Authorization header value ("Bearer TOKEN"); nullopt when missing, unknown,
  // expired, or bound to a pod that is gone or was replaced (another uid under the name),
  // as the service-account token authenticator's bound-object check refuses it.
  std::optional<UserInfo> authenticate(std::string_view authorization) const;

  std::vector<Entry> entries() const;

 private:
  IdSource& ids_;
  Now now_;
  PodUid pod_uid_;
  std::map<std::string, Entry> tokens_;
  std::map<std::string, std::string> uids_;       // user name -> uid
  std::map<std::string, std::string> node_uids_;  // node name -> uid (the double has no Node objects)
};

}  // namespace distls::k8s_double
