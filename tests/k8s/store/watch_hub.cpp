#include "tests/k8s/store/watch_hub.hpp"

namespace distls::k8s_double {

boost::json::object WatchInfo::to_json() const {
  return {{"id", id},           {"user", user},
          {"target", target},   {"resource", resource},
          {"started", started}, {"resourceVersion", std::to_string(position)},
          {"events", events}};
}

std::uint64_t WatchHub::open(WatchInfo info) {
  info.id = next_id_++;
  const auto id = info.id;
  open_.emplace(id, std::move(info));
  return id;
}

void WatchHub::progress(std::uint64_t id, std::uint64_t position, std::uint64_t events) {
  if (const auto it = open_.find(id); it != open_.end()) {
    it->second.position = position;
    it->second.events = events;
  }
}

std::vector<WatchInfo> WatchHub::list() const {
  std::vector<WatchInfo> out;
  for (const auto& kv : open_) out.push_back(kv.second);
  return out;
}

std::size_t WatchHub::close_all() {
  ++close_gen_;
  wake();
  return open_.size();
}

std::size_t WatchHub::bookmark_all() {
  ++bookmark_gen_;
  wake();
  return open_.size();
}

}  // namespace distls::k8s_double
