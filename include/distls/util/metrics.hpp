// Counters and gauges, rendered in the Prometheus text format by the admin server.
// Owned by main. The data path keeps references to its counters (std::map nodes are
// stable), so a byte count costs an addition, not a lookup.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace distls {

class Metrics {
 public:
  // `labels` is the inside of the braces, e.g. `direction="in"`, or empty.
  std::uint64_t& counter(std::string_view name, std::string_view labels = {});
  std::int64_t& gauge(std::string_view name, std::string_view labels = {});
  void help(std::string_view name, std::string_view text);

  std::uint64_t value(std::string_view name, std::string_view labels = {}) const;
  std::string render() const;

 private:
  struct Family {
    std::string help;
    bool is_gauge = false;
    std::map<std::string, std::uint64_t, std::less<>> counters;
    std::map<std::string, std::int64_t, std::less<>> gauges;
  };
  Family& family(std::string_view name);
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace distls
