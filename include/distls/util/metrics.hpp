// Counters and gauges, rendered in the Prometheus text format by the admin server.
// Owned by main and used on main's loop, except that the data path keeps references to
// its counters (std::map nodes are stable), so a byte count costs an addition, not a
// lookup: an atomic one, as tunnels may run on worker loops (util/event_loops.hpp), and
// counters are read atomically here to match.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <initializer_list>

namespace distls {

// Label pairs, e.g. {{"direction", "in"}, {"reason", reason}}. Values are escaped here
// (backslash, double quote, newline, as the text format wants), so a value that came
// from a peer or an API server cannot break the exposition.
struct Label {
  Label(std::string_view k, std::string_view v) : key(k), value(v) {}
  std::string_view key;
  std::string_view value;
};
using Labels = std::initializer_list<Label>;

class Metrics {
 public:
  std::uint64_t& counter(std::string_view name, Labels labels = {});
  std::int64_t& gauge(std::string_view name, Labels labels = {});
  void help(std::string_view name, std::string_view text);

  std::uint64_t value(std::string_view name, Labels labels = {}) const;
  std::string render() const;

  // The inside of the braces for `labels`: key="escaped value",...
  static std::string label_text(Labels labels);

 private:
  struct Family {
    std::string help;
    bool is_gauge = false;
    std::map<std::string, std::uint64_t, std::less<>> counters;
    std::map<std::string, std::int64_t, std::less<>> gauges;
  };
  Family& family(std::string_view name);
  static std::uint64_t read(const std::uint64_t& counter) {
    return std::atomic_ref(const_cast<std::uint64_t&>(counter)).load(std::memory_order_relaxed);
  }
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace distls
