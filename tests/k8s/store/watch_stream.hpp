// One watch: which events its client gets, in which order, rendered as the lines of the
// response body ({"type":...,"object":{...}}\n). No I/O, so the semantics (events strictly
// after resourceVersion, synthetic ADDEDs for "" and "0", selector transitions, 410 Expired
// after compaction, bookmarks) are testable without sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "tests/k8s/store/object_store.hpp"
#include "tests/k8s/objects/resource_types.hpp"
#include "tests/k8s/store/selectors.hpp"
#include "tests/k8s/api/table_printer.hpp"

namespace distls::k8s_double {

struct WatchSpec {
  const ResourceType* type = nullptr;
  std::string ns;  // "" for all namespaces / cluster-scoped
  FieldSelector fields;
  LabelSelector labels;
  // resourceVersion "" or "0": ADDED for every matching object first ("Get State and Start
  // at Most Recent"); otherwise only events after `since`.
  bool initial_state = false;
  std::uint64_t since = 0;
  bool bookmarks = false;           // allowWatchBookmarks=true
  bool initial_events_end = false;  // sendInitialEvents=true: BOOKMARK after the initial ADDEDs
  std::chrono::seconds timeout{1800};
  std::optional<TableOptions> table;  // Accept: as=Table: every object becomes a one-row Table
};

class WatchStream {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;

  WatchStream(const ObjectStore& store, WatchSpec spec, Now now);

  // The lines to send now (possibly none), oldest first. After an ERROR line the watch is
  // finished() and poll() returns nothing more.
  std::vector<std::string> poll();
  bool finished() const { return finished_; }
  // A BOOKMARK line carrying the position (the store's RV once caught up).
  std::string bookmark(bool initial_events_end = false) const;
  std::uint64_t position() const { return pos_; }
  const WatchSpec& spec() const { return spec_; }

 private:
  bool matches(const boost::json::object& obj) const;
  std::string line(const char* type, const boost::json::object& obj) const;

  const ObjectStore& store_;
  WatchSpec spec_;
  Now now_;
  std::uint64_t pos_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace distls::k8s_double
