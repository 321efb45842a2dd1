#include "tests/k8s/store/watch_stream.hpp"

#include <boost/json/serialize.hpp>

#include "tests/k8s/encoding/json_util.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

WatchStream::WatchStream(const ObjectStore& store, WatchSpec spec, Now now)
    : store_(store), spec_(std::move(spec)), now_(std::move(now)), pos_(spec_.since) {}

bool WatchStream::matches(const json::object& obj) const {
  if (!spec_.ns.empty() && namespace_of(obj) != spec_.ns) return false;
  return spec_.fields.matches(spec_.type->fields(obj)) && spec_.labels.matches(labels_of(obj));
}

std::string WatchStream::line(const char* type, const json::object& obj) const {
  json::object out;
  if (spec_.table) {
    TableOptions opts = *spec_.table;
    opts.now = now_();
    out = to_table(*spec_.type, {&obj}, string_at(obj, {"metadata", "resourceVersion"}), opts);
  } else {
    // Watch events carry kind and apiVersion, unlike the items of a list.
    out["kind"] = spec_.type->kind;
    out["apiVersion"] = spec_.type->api_version;
    for (const auto& kv : obj)
      if (kv.key() != "kind" && kv.key() != "apiVersion") out[kv.key()] = kv.value();
  }
  std::string s = json::serialize(json::object{{"type", type}, {"object", std::move(out)}});
  s += '\n';
  return s;
}

std::string WatchStream::bookmark(bool initial_events_end) const {
  json::object meta{{"resourceVersion", std::to_string(pos_)}, {"creationTimestamp", nullptr}};
  if (initial_events_end) meta["annotations"] = json::object{{"k8s.io/initial-events-end", "true"}};
  json::object obj{
      {"kind", spec_.type->kind}, {"apiVersion", spec_.type->api_version}, {"metadata", std::move(meta)}};
  std::string s = json::serialize(json::object{{"type", "BOOKMARK"}, {"object", std::move(obj)}});
  s += '\n';
  return s;
}

std::vector<std::string> WatchStream::poll() {
  std::vector<std::string> out;
  if (finished_) return out;
  if (!started_) {
    started_ = true;
    if (spec_.initial_state) {
      pos_ = store_.resource_version();
      for (const auto* obj : store_.list(spec_.type->gr.resource, spec_.ns))
        if (matches(*obj)) out.push_back(line("ADDED", *obj));
      if (spec_.initial_events_end && spec_.bookmarks) out.push_back(bookmark(true));
      return out;
    }
  }
  const auto events = store_.events_after(pos_, spec_.type->gr.resource);
  if (!events) {
    // What the watch cache answers for a revision it no longer holds; the client re-lists.
    const ApiError gone =
        resource_expired("too old resource version: " + std::to_string(pos_) + " (" +
                         std::to_string(store_.compacted_rv(spec_.type->gr.resource) + 1) + ")");
    std::string s = json::serialize(json::object{{"type", "ERROR"}, {"object", gone.to_status()}});
    s += '\n';
    out.push_back(std::move(s));
    finished_ = true;
    return out;
  }
  for (const StoredEvent* e : *events) {
    const bool now_matches = matches(e->object);
    const bool was_matching = e->previous && matches(*e->previous);
    switch (e->type) {
      case EventType::added:
        if (now_matches) out.push_back(line("ADDED", e->object));
        break;
      case EventType::modified:
        // An object moving into or out of the selection is ADDED or DELETED for this watch,
        // as the watch cache reports it (a DELETED with the old content at the new RV).
        if (now_matches && was_matching) {
          out.push_back(line("MODIFIED", e->object));
        } else if (now_matches) {
          out.push_back(line("ADDED", e->object));
        } else if (was_matching) {
          json::object old = *e->previous;
          old["metadata"].as_object()["resourceVersion"] = std::to_string(e->rv);
          out.push_back(line("DELETED", old));
        }
        break;
      case EventType::deleted:
        if (now_matches) out.push_back(line("DELETED", e->object));
        break;
    }
  }
  // Caught up with the whole store, not just this resource: unrelated writes must not make
  // a live watch look too old after a compaction.
  pos_ = std::max(pos_, store_.resource_version());
  return out;
}

}  // namespace distls::k8s_double
