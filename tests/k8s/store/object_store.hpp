// The double's etcd: every object of every resource, one resourceVersion counter shared by
// all of them (as etcd's revision is), and a bounded history of change events that watches
// replay. No I/O: the HTTP side asks it for events and is told when something changed.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace distls::k8s_double {

enum class EventType { added, modified, deleted };
const char* to_string(EventType t);  // "ADDED", "MODIFIED", "DELETED"

struct StoredEvent {
  std::uint64_t rv;
  std::string resource;
  EventType type;
  boost::json::object object;                   // after the change (for deleted: as deleted)
  std::optional<boost::json::object> previous;  // before the change (modified, deleted)
};

class ObjectStore {
 public:
  // history_limit: how many events are kept per resource for watches; older ones are
  // compacted away, as each resource's watch cache in the apiserver forgets old events.
  explicit ObjectStore(std::size_t history_limit, std::uint64_t first_rv = 1000);

  std::uint64_t resource_version() const { return rv_; }
  // Events up to and including this RV are gone for every resource (explicit compaction).
  std::uint64_t compacted_rv() const { return compacted_; }
  // ... and for `resource`, also those its history limit pushed out: a watch of it must
  // start at or after this RV.
  std::uint64_t compacted_rv(const std::string& resource) const;

  const boost::json::object* get(const std::string& resource, const std::string& ns,
                                 const std::string& name) const;
  // In key order (namespace, then name); ns "" lists every namespace.
  std::vector<const boost::json::object*> list(const std::string& resource, const std::string& ns) const;

  // Writes stamp metadata.resourceVersion with a fresh RV, record an event and notify.
  // The caller has checked existence (create of an existing key replaces it).
  const boost::json::object& put(const std::string& resource, boost::json::object obj, EventType type);
  // Returns the object as deleted, carrying the RV of the deletion; nullopt when absent.
  std::optional<boost::json::object> remove(const std::string& resource, const std::string& ns,
                                            const std::string& name);

  // Forgets history up to `up_to` (default: everything so far), for every resource.
  void compact(std::optional<std::uint64_t> up_to = std::nullopt);

  // Events after `since` for `resource`, oldest first; nullopt when `since` is compacted.
  std::optional<std::vector<const StoredEvent*>> events_after(std::uint64_t since,
                                                              const std::string& resource) const;

  // Called after every write (one listener: the HTTP server wakes its watches).
  void set_listener(std::function<void()> f) { listener_ = std::move(f); }

 private:
  using Objects = std::map<std::string, boost::json::object>;  // "ns/name" -> object
  struct History {
    std::deque<StoredEvent> events;
    std::uint64_t evicted = 0;  // RV of the newest event pushed out by the limit
  };
  void record(StoredEvent e);

  std::size_t history_limit_;
  std::uint64_t rv_;
  std::uint64_t compacted_;
  std::map<std::string, Objects> objects_;
  std::map<std::string, History> history_;
  std::function<void()> listener_;
};

}  // namespace distls::k8s_double
