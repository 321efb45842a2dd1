// What distls knows about each peer node: whether discovery lists it, its tunnels, and
// the last thing that went wrong with it. Admin /peers shows it; the Erlang side asks for
// the discovered set through the EPMD-compatible listener.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace distls {

class PeerBook {
 public:
  struct Peer {
    bool discovered = false;
    int tunnels_in = 0;
    int tunnels_out = 0;
    std::uint64_t failures = 0;
    std::string last_error;
    std::optional<std::chrono::system_clock::time_point> last_error_at;
    std::optional<std::chrono::system_clock::time_point> connected_at;  // last tunnel opened
  };

  struct Change {
    std::vector<std::string> added, removed;
  };
  // Replaces the discovered set with `nodes` (full node names).
  Change set_discovered(const std::set<std::string>& nodes);
  std::vector<std::string> discovered() const;

  void tunnel_opened(const std::string& node, bool inbound);
  void tunnel_closed(const std::string& node, bool inbound);
  void failed(const std::string& node, const std::string& reason);

  const std::map<std::string, Peer>& all() const { return peers_; }

 private:
  std::map<std::string, Peer> peers_;
};

}  // namespace distls
