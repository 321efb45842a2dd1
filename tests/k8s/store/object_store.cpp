#include "tests/k8s/store/object_store.hpp"

#include <algorithm>

#include "tests/k8s/encoding/json_util.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

const char* to_string(EventType t) {
  switch (t) {
    case EventType::added:
      return "ADDED";
    case EventType::modified:
      return "MODIFIED";
    case EventType::deleted:
      return "DELETED";
  }
  return "ERROR";
}

namespace {

std::string key(const std::string& ns, const std::string& name) { return ns + "/" + name; }

void stamp(json::object& obj, std::uint64_t rv) {
  auto& meta = obj["metadata"];
  if (!meta.is_object()) meta = json::object{};
  meta.get_object()["resourceVersion"] = std::to_string(rv);
}

}  // namespace

ObjectStore::ObjectStore(std::size_t history_limit, std::uint64_t first_rv)
    : history_limit_(history_limit), rv_(first_rv), compacted_(first_rv) {}

const json::object* ObjectStore::get(const std::string& resource, const std::string& ns,
                                     const std::string& name) const {
  const auto r = objects_.find(resource);
  if (r == objects_.end()) return nullptr;
  const auto it = r->second.find(key(ns, name));
  return it == r->second.end() ? nullptr : &it->second;
}

std::vector<const json::object*> ObjectStore::list(const std::string& resource, const std::string& ns) const {
  std::vector<const json::object*> out;
  const auto r = objects_.find(resource);
  if (r == objects_.end()) return out;
  for (const auto& [k, obj] : r->second)
    if (ns.empty() || k.compare(0, ns.size() + 1, ns + "/") == 0) out.push_back(&obj);
  return out;
}

const json::object& ObjectStore::put(const std::string& resource, json::object obj, EventType type) {
  stamp(obj, ++rv_);
  auto& slot = objects_[resource][key(namespace_of(obj), name_of(obj))];
  std::optional<json::object> previous;
  if (type == EventType::modified) previous = slot;
  slot = obj;
  record(StoredEvent{rv_, resource, type, std::move(obj), std::move(previous)});
  return slot;
}

std::optional<json::object> ObjectStore::remove(const std::string& resource, const std::string& ns,
                                                const std::string& name) {
  const auto r = objects_.find(resource);
  if (r == objects_.end()) return std::nullopt;
  const auto it = r->second.find(key(ns, name));
  if (it == r->second.end()) return std::nullopt;
  json::object previous = std::move(it->second);
  r->second.erase(it);
  json::object gone = previous;
  // A deleted object carries the revision of its deletion, as etcd reports it.
  stamp(gone, ++rv_);
  record(StoredEvent{rv_, resource, EventType::deleted, gone, std::move(previous)});
  return gone;
}

void ObjectStore::record(StoredEvent e) {
  auto& h = history_[e.resource];
  h.events.push_back(std::move(e));
  while (h.events.size() > history_limit_) {
    h.evicted = h.events.front().rv;
    h.events.pop_front();
  }
  if (listener_) listener_();
}

std::uint64_t ObjectStore::compacted_rv(const std::string& resource) const {
  const auto it = history_.find(resource);
  return it == history_.end() ? compacted_ : std::max(compacted_, it->second.evicted);
}

void ObjectStore::compact(std::optional<std::uint64_t> up_to) {
  const std::uint64_t target = up_to ? std::min(*up_to, rv_) : rv_;
  for (auto& [resource, h] : history_)
    while (!h.events.empty() && h.events.front().rv <= target) h.events.pop_front();
  if (target > compacted_) compacted_ = target;
}

std::optional<std::vector<const StoredEvent*>> ObjectStore::events_after(std::uint64_t since,
                                                                         const std::string& resource) const {
  if (since < compacted_rv(resource)) return std::nullopt;
  std::vector<const StoredEvent*> out;
  if (const auto it = history_.find(resource); it != history_.end())
    for (const auto& e : it->second.events)
      if (e.rv > since) out.push_back(&e);
  return out;
}

}  // namespace distls::k8s_double
