#include "distls/epmd/node_registry.hpp"

namespace distls {

std::optional<std::uint32_t> NodeRegistry::add(const epmd::Alive2Request& request,
                                               boost::asio::ip::address loopback) {
  if (nodes_.contains(request.name)) return std::nullopt;
  // 32-bit creations from OTP 23 on; values 0-3 are the old 2-bit range and mean
  // "unknown" to some peers. A restarted node must get a different creation than its
  // previous incarnation, or stale pids would look alive.
  std::uint32_t c;
  do {
    c = rng_();
  } while (c < 4 || c == last_creation_);
  last_creation_ = c;
  nodes_[request.name] = Registration{request, c, loopback};
  return c;
}

void NodeRegistry::remove(const std::string& name, std::uint32_t creation) {
  auto it = nodes_.find(name);
  if (it != nodes_.end() && it->second.creation == creation) nodes_.erase(it);
}

const Registration* NodeRegistry::find(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<epmd::NameEntry> NodeRegistry::names() const {
  std::vector<epmd::NameEntry> out;
  for (const auto& [name, r] : nodes_) out.push_back({name, r.request.port});
  return out;
}

}  // namespace distls
