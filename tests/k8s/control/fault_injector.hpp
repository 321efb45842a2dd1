// Failures on demand: "the next N requests matching METHOD + path prefix answer 503", or
// hang, or have their connection closed without an answer, or are answered late. Rules
// are consumed in the order they were added; each request consumes at most one.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "tests/k8s/http/api_error.hpp"

namespace distls::k8s_double {

struct FaultRule {
  enum class Action { status, hang, close, delay };

  std::uint64_t id = 0;
  std::string method;         // "" or "*": any
  std::string path_prefix;    // matched against the decoded path, without the query
  std::optional<bool> watch;  // only watch requests / only non-watch requests / either
  unsigned remaining = 1;
  Action action = Action::status;
  unsigned status = 503;                        // Action::status
  std::string message;                          // Action::status; "" picks the apiserver's usual text
  std::optional<unsigned> retry_after_seconds;  // Action::status: Retry-After header + details
  std::chrono::milliseconds delay{0};           // Action::delay

  boost::json::object to_json() const;
  // {"method","pathPrefix","watch","count","action","status","message","retryAfterSeconds","delayMs"}
  static Expected<FaultRule> from_json(const boost::json::value& v);
};

class FaultInjector {
 public:
  std::uint64_t add(FaultRule rule);
  // The rule this request consumes, if any.
  std::optional<FaultRule> take(const std::string& method, const std::string& path, bool is_watch);
  void clear() { rules_.clear(); }
  const std::vector<FaultRule>& rules() const { return rules_; }

 private:
  std::vector<FaultRule> rules_;
  std::uint64_t next_id_ = 1;
};

}  // namespace distls::k8s_double
