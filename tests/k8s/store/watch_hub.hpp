// The open watches, as the control API sees them: list them (so a test can wait until its
// client is watching before it changes anything), end them all at once (as an apiserver
// restart or a load balancer would), or make each send a BOOKMARK now.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace distls::k8s_double {

struct WatchInfo {
  std::uint64_t id = 0;
  std::string user;
  std::string target;          // path and query as the client sent them
  std::string resource;        // "certificatesigningrequests", "pods"
  std::string started;         // RFC 3339
  std::uint64_t position = 0;  // RV of the last event sent or caught up with
  std::uint64_t events = 0;    // lines sent, bookmarks included

  boost::json::object to_json() const;
};

class WatchHub {
 public:
  std::uint64_t open(WatchInfo info);
  void progress(std::uint64_t id, std::uint64_t position, std::uint64_t events);
  void closed(std::uint64_t id) { open_.erase(id); }
  std::vector<WatchInfo> list() const;

  // Both wake every watch; each ends, or sends a BOOKMARK, when it sees the generation move.
  std::size_t close_all();
  std::size_t bookmark_all();
  std::uint64_t close_generation() const { return close_gen_; }
  std::uint64_t bookmark_generation() const { return bookmark_gen_; }

  // The HTTP server's way of waking its watch coroutines.
  void set_waker(std::function<void()> f) { waker_ = std::move(f); }
  void wake() const {
    if (waker_) waker_();
  }

 private:
  std::map<std::uint64_t, WatchInfo> open_;
  std::uint64_t next_id_ = 1;
  std::uint64_t close_gen_ = 0;
  std::uint64_t bookmark_gen_ = 0;
  std::function<void()> waker_;
};

}  // namespace distls::k8s_double
