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

#include "tests/k8s/json_util.hpp"
#include "tests/k8s/user_info.hpp"

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

class TokenRegistry {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;

  struct Entry {
    std::string token;
    UserInfo user;
    std::optional<std::chrono::system_clock::time_point> expires;
  };

  TokenRegistry(IdSource& ids, Now now) : ids_(ids), now_(std::move(now)) {}

  // token "" picks a random one. The user's groups: `extra_groups`, the service-account
  // groups when it is one, and system:authenticated. A user keeps one uid for all its tokens.
  const Entry& add(std::string token, const std::string& user, const std::vector<std::string>& extra_groups,
                   std::optional<std::chrono::seconds> ttl = std::nullopt);
  bool revoke(const std::string& token);
  // Revokes every token of `user` but `keep`; returns how many.
  std::size_t revoke_user(const std::string& user, const std::string& keep);

  // From an Authorization header value ("Bearer TOKEN"); nullopt when missing, unknown or
  // expired.
  std::optional<UserInfo> authenticate(std::string_view authorization) const;

  std::vector<Entry> entries() const;

 private:
  IdSource& ids_;
  Now now_;
  std::map<std::string, Entry> tokens_;
  std::map<std::string, std::string> uids_;  // user name -> uid
};

}  // namespace distls::k8s_double
