#include "distls/util/metrics.hpp"

namespace distls {

Metrics::Family& Metrics::family(std::string_view name) {
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  return it->second;
}

std::uint64_t& Metrics::counter(std::string_view name, std::string_view labels) {
  auto& f = family(name);
  auto it = f.counters.find(labels);
  if (it == f.counters.end()) it = f.counters.emplace(std::string(labels), 0).first;
  return it->second;
}

std::int64_t& Metrics::gauge(std::string_view name, std::string_view labels) {
  auto& f = family(name);
  f.is_gauge = true;
  auto it = f.gauges.find(labels);
  if (it == f.gauges.end()) it = f.gauges.emplace(std::string(labels), 0).first;
  return it->second;
}

void Metrics::help(std::string_view name, std::string_view text) { family(name).help = text; }

std::uint64_t Metrics::value(std::string_view name, std::string_view labels) const {
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  if (auto c = f->second.counters.find(labels); c != f->second.counters.end()) return c->second;
  if (auto g = f->second.gauges.find(labels); g != f->second.gauges.end())
    return static_cast<std::uint64_t>(g->second);
  return 0;
}

std::string Metrics::render() const {
  std::string out;
  auto sample = [&](const std::string& name, const std::string& labels, const std::string& v) {
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += " " + v + "\n";
  };
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + (f.is_gauge ? " gauge\n" : " counter\n");
    for (const auto& [labels, v] : f.counters) sample(name, labels, std::to_string(v));
    for (const auto& [labels, v] : f.gauges) sample(name, labels, std::to_string(v));
  }
  return out;
}

}  // namespace distls
