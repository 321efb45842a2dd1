#include "tests/k8s/object_store.hpp"

#include "tests/k8s/json_util.hpp"

namespace distls::k8s {

namespace json = boost::json;

const char* to_string(EventType t) {
  switch (t) {
    case EventType::added: return "ADDED";
    case EventType::modified: return "MODIFIED";
    case EventType::deleted: return "DELETED";
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
  history_.push_back(std::move(e));
  while (history_.size() > history_limit_) {
    compacted_ = history_.front().rv;
    history_.pop_front();
  }
  if (listener_) listener_();
}

void ObjectStore::compact(std::optional<std::uint64_t> up_to) {
  const std::uint64_t target = up_to ? std::min(*up_to, rv_) : rv_;
  while (!history_.empty() && history_.front().rv <= target) history_.pop_front();
  if (target > compacted_) compacted_ = target;
}

std::optional<std::vector<const StoredEvent*>> ObjectStore::events_after(std::uint64_t since,
                                                                         const std::string& resource) const {
  if (since < compacted_) return std::nullopt;
  std::vector<const StoredEvent*> out;
  for (const auto& e : history_)
    if (e.rv > since && e.resource == resource) out.push_back(&e);
  return out;
}

}  // namespace distls::k8s
