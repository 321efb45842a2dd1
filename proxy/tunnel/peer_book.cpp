#include "distls/tunnel/peer_book.hpp"

#include <algorithm>

namespace distls {

PeerBook::Change PeerBook::set_discovered(const std::set<std::string>& nodes) {
  Change c;
  for (auto& [name, p] : peers_)
    if (p.discovered && !nodes.contains(name)) {
      p.discovered = false;
      c.removed.push_back(name);
    }
  for (const auto& n : nodes) {
    auto& p = peers_[n];
    if (!p.discovered) {
      p.discovered = true;
      c.added.push_back(n);
    }
  }
  // Forget peers that are neither listed nor connected: the book stays as large as the
  // cluster, not as large as its history.
  std::erase_if(peers_, [](const auto& kv) {
    const auto& p = kv.second;
    return !p.discovered && p.tunnels_in == 0 && p.tunnels_out == 0;
  });
  return c;
}

std::vector<std::string> PeerBook::discovered() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : peers_)
    if (p.discovered) out.push_back(name);
  return out;
}

void PeerBook::tunnel_opened(const std::string& node, bool inbound, std::chrono::system_clock::time_point now) {
  if (!peers_.contains(node)) make_room(now);
  auto& p = peers_[node];
  ++(inbound ? p.tunnels_in : p.tunnels_out);
  p.connected_at = now;
}

void PeerBook::tunnel_closed(const std::string& node, bool inbound) {
  auto it = peers_.find(node);
  if (it == peers_.end()) return;
  auto& count = inbound ? it->second.tunnels_in : it->second.tunnels_out;
  if (count > 0) --count;
}

void PeerBook::make_room(std::chrono::system_clock::time_point now) {
  auto last_seen = [](const Peer& p) {
    return std::max(p.last_error_at.value_or(std::chrono::system_clock::time_point{}),
                    p.connected_at.value_or(std::chrono::system_clock::time_point{}));
  };
  std::erase_if(peers_, [&](const auto& kv) { return !kv.second.active() && now - last_seen(kv.second) > kInactiveTtl; });
  std::size_t inactive = 0;
  auto oldest = peers_.end();
  for (auto it = peers_.begin(); it != peers_.end(); ++it) {
    if (it->second.active()) continue;
    ++inactive;
    if (oldest == peers_.end() || last_seen(it->second) < last_seen(oldest->second)) oldest = it;
  }
  if (inactive >= kMaxInactive) peers_.erase(oldest);
}

void PeerBook::failed(const std::string& node, const std::string& reason, std::chrono::system_clock::time_point now) {
  if (!peers_.contains(node)) make_room(now);
  auto& p = peers_[node];
  ++p.failures;
  p.last_error = reason;
  p.last_error_at = now;
}

}  // namespace distls
