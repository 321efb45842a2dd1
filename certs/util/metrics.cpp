#include "distls/util/metrics.hpp"

namespace distls {

Metrics::Family& Metrics::family(std::string_view name) {
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  return it->second;
}

std::string Metrics::label_text(Labels labels) {
  std::string out;
  for (const auto& [k, v] : labels) {  // Label: key, value
    if (!out.empty()) out += ',';
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out;
}

std::uint64_t& Metrics::counter(std::string_view name, Labels labels) {
  auto& f = family(name);
  const auto key = label_text(labels);
  auto it = f.counters.find(key);
  if (it == f.counters.end()) it = f.counters.emplace(key, 0).first;
  return it->second;
}

std::int64_t& Metrics::gauge(std::string_view name, Labels labels) {
  auto& f = family(name);
  f.is_gauge = true;
  const auto key = label_text(labels);
  auto it = f.gauges.find(key);
  if (it == f.gauges.end()) it = f.gauges.emplace(key, 0).first;
  return it->second;
}

void Metrics::help(std::string_view name, std::string_view text) { family(name).help = text; }

std::uint64_t Metrics::value(std::string_view name, Labels label_pairs) const {
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  const auto labels = label_text(label_pairs);
  if (auto c = f->second.counters.find(labels); c != f->second.counters.end()) return read(c->second);
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
    for (const auto& [labels, v] : f.counters) sample(name, labels, std::to_string(read(v)));
    for (const auto& [labels, v] : f.gauges) sample(name, labels, std::to_string(v));
  }
  return out;
}

}  // namespace distls
