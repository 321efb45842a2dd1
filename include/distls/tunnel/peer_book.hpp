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

    bool active() const { return discovered || tunnels_in > 0 || tunnels_out > 0; }
  };

  struct Change {
    std::vector<std::string> added, removed;
  };
  // Replaces the discovered set with `nodes` (full node names).
  Change set_discovered(const std::set<std::string>& nodes);
  std::vector<std::string> discovered() const;

  void tunnel_opened(const std::string& node, bool inbound,
                     std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  void tunnel_closed(const std::string& node, bool inbound);
  // Tunnels and failures are filed under the name the peer used, which inbound is a
  // name it claimed (the certificate binds only the host part). Entries neither
  // discovered nor connected are kept for kInactiveTtl and at most kMaxInactive of them,
  // the oldest going first, so endless made-up names cannot grow the book.
  void failed(const std::string& node, const std::string& reason,
              std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  static constexpr std::size_t kMaxInactive = 256;
  static constexpr std::chrono::minutes kInactiveTtl{10};

  const std::map<std::string, Peer>& all() const { return peers_; }

 private:
  // Makes room for a new entry: drops inactive ones past their time, then the oldest
  // inactive one while there are too many.
  void make_room(std::chrono::system_clock::time_point now);

  std::map<std::string, Peer> peers_;
};

}  // namespace distls
