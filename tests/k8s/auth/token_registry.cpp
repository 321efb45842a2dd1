#include "tests/k8s/auth/token_registry.hpp"

#include <algorithm>
#include <cctype>

namespace distls::k8s_double {

namespace {

constexpr std::string_view kSaPrefix = "system:serviceaccount:";

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

std::vector<std::string> service_account_groups(const std::string& user) {
  if (user.rfind(kSaPrefix, 0) != 0) return {};
  const auto parts = split(user, ':');
  if (parts.size() != 4 || parts[2].empty() || parts[3].empty()) return {};
  return {"system:serviceaccounts", "system:serviceaccounts:" + parts[2]};
}

std::optional<TokenSpec> parse_token_spec(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return std::nullopt;
  TokenSpec spec;
  spec.token = std::string(text.substr(0, eq));
  const std::string_view rest = text.substr(eq + 1);
  // The user is one field, or four for a service account; groups are whatever follows
  // the next colon (group names may hold colons themselves: system:masters).
  std::size_t user_end = 0;
  for (int fields = rest.rfind(kSaPrefix, 0) == 0 ? 4 : 1; fields > 0; --fields) {
    user_end = rest.find(':', user_end == 0 ? 0 : user_end + 1);
    if (user_end == std::string_view::npos) {
      if (fields > 1) return std::nullopt;
      user_end = rest.size();
    }
  }
  spec.user = std::string(rest.substr(0, user_end));
  for (const auto& f : split(spec.user, ':'))
    if (f.empty()) return std::nullopt;
  if (user_end < rest.size())
    for (auto& g : split(rest.substr(user_end + 1), ','))
      if (!g.empty()) spec.groups.push_back(std::move(g));
  return spec;
}

const TokenRegistry::Entry& TokenRegistry::add(std::string token, const std::string& user,
                                               const std::vector<std::string>& extra_groups,
                                               std::optional<std::chrono::seconds> ttl,
                                               std::optional<BoundPod> pod) {
  if (token.empty()) token = ids_.token();
  Entry e;
  e.token = token;
  e.user.name = user;
  auto [it, fresh] = uids_.try_emplace(user, std::string());
  if (fresh) it->second = ids_.uid();
  e.user.uid = it->second;
  for (const auto& g : service_account_groups(user)) add_unique(e.user.groups, g);
  for (const auto& g : extra_groups) add_unique(e.user.groups, g);
  add_unique(e.user.groups, "system:authenticated");
  if (ttl) e.expires = now_() + *ttl;
  if (pod) {
    e.user.extra[kPodNameKey] = {pod->name};
    e.user.extra[kPodUidKey] = {pod->uid};
    if (!pod->node.empty()) {
      auto [node, fresh_node] = node_uids_.try_emplace(pod->node, std::string());
      if (fresh_node) node->second = ids_.uid();
      e.user.extra[kNodeNameKey] = {pod->node};
      e.user.extra[kNodeUidKey] = {node->second};
    }
    e.user.extra[kCredentialIdKey] = {"JTI=" + ids_.uid()};
    e.pod = std::move(pod);
  }
  auto& slot = tokens_[token];
  slot = std::move(e);
  return slot;
}

bool TokenRegistry::revoke(const std::string& token) { return tokens_.erase(token) > 0; }

std::size_t TokenRegistry::revoke_user(const std::string& user, const std::string& keep) {
  const auto kept = tokens_.find(keep);
  const std::string pod = kept != tokens_.end() && kept->second.pod ? kept->second.pod->name : "";
  return std::erase_if(tokens_, [&](const auto& kv) {
    const std::string other = kv.second.pod ? kv.second.pod->name : "";
    return kv.second.user.name == user && kv.first != keep && other == pod;
  });
}

std::optional<UserInfo> TokenRegistry::authenticate(std::string_view authorization) const {
  // RFC 6750: the scheme is case-insensitive; the apiserver accepts "bearer" as well.
  if (authorization.size() < 7) return std::nullopt;
  std::string scheme(authorization.substr(0, 7));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme != "bearer ") return std::nullopt;
  auto token = authorization.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  const auto it = tokens_.find(std::string(token));
  if (it == tokens_.end()) return std::nullopt;
  if (it->second.expires && now_() >= *it->second.expires) return std::nullopt;
  // pkg/serviceaccount/claims.go Validate: the bound pod must still exist with the uid
  // the token names ("Token has been invalidated").
  if (const auto& pod = it->second.pod) {
    if (!pod_uid_) return std::nullopt;
    const auto uid = pod_uid_(pod->ns, pod->name);
    if (!uid || *uid != pod->uid) return std::nullopt;
  }
  return it->second.user;
}

std::vector<TokenRegistry::Entry> TokenRegistry::entries() const {
  std::vector<Entry> out;
  for (const auto& kv : tokens_) out.push_back(kv.second);
  return out;
}

}  // namespace distls::k8s_double
