#include "tests/k8s/control/fault_injector.hpp"

#include <boost/json/value.hpp>

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

const char* action_name(FaultRule::Action a) {
  switch (a) {
    case FaultRule::Action::status:
      return "status";
    case FaultRule::Action::hang:
      return "hang";
    case FaultRule::Action::close:
      return "close";
    case FaultRule::Action::delay:
      return "delay";
  }
  return "status";
}

}  // namespace

json::object FaultRule::to_json() const {
  json::object o;
  o["id"] = id;
  o["method"] = method.empty() ? "*" : method;
  o["pathPrefix"] = path_prefix;
  if (watch) o["watch"] = *watch;
  o["remaining"] = remaining;
  o["action"] = action_name(action);
  if (action == Action::status) {
    o["status"] = status;
    if (!message.empty()) o["message"] = message;
    if (retry_after_seconds) o["retryAfterSeconds"] = *retry_after_seconds;
  }
  if (action == Action::delay) o["delayMs"] = delay.count();
  return o;
}

Expected<FaultRule> FaultRule::from_json(const json::value& v) {
  if (!v.is_object()) return bad_request("a fault is a JSON object");
  const auto& o = v.get_object();
  FaultRule r;
  const auto str = [&](const char* k, std::string& out) {
    const auto it = o.find(k);
    if (it == o.end()) return true;
    if (!it->value().is_string()) return false;
    out = std::string(it->value().get_string());
    return true;
  };
  const auto num = [&](const char* k, long long lo, long long hi, auto& out) {
    const auto it = o.find(k);
    if (it == o.end()) return true;
    if (!it->value().is_int64() && !it->value().is_uint64()) return false;
    const auto n = it->value().to_number<long long>();
    if (n < lo || n > hi) return false;
    out = static_cast<std::remove_reference_t<decltype(out)>>(n);
    return true;
  };
  std::string action = "status";
  long long delay_ms = 0;
  unsigned retry_after = 0;
  if (!str("method", r.method) || !str("pathPrefix", r.path_prefix) || !str("action", action) ||
      !str("message", r.message))
    return bad_request("fault fields method, pathPrefix, action, message are strings");
  if (!num("count", 1, 1000000, r.remaining)) return bad_request("fault count is an integer from 1");
  if (!num("status", 100, 599, r.status)) return bad_request("fault status is an HTTP status code");
  if (!num("delayMs", 0, 600000, delay_ms)) return bad_request("fault delayMs is 0..600000");
  if (o.contains("retryAfterSeconds")) {
    if (!num("retryAfterSeconds", 0, 3600, retry_after)) return bad_request("retryAfterSeconds is 0..3600");
    r.retry_after_seconds = retry_after;
  }
  if (const auto it = o.find("watch"); it != o.end()) {
    if (!it->value().is_bool()) return bad_request("fault watch is a boolean");
    r.watch = it->value().get_bool();
  }
  if (r.method == "*") r.method.clear();
  if (action == "status")
    r.action = Action::status;
  else if (action == "hang")
    r.action = Action::hang;
  else if (action == "close")
    r.action = Action::close;
  else if (action == "delay")
    r.action = Action::delay;
  else
    return bad_request("fault action is one of status, hang, close, delay");
  r.delay = std::chrono::milliseconds(delay_ms);
  return r;
}

std::uint64_t FaultInjector::add(FaultRule rule) {
  rule.id = next_id_++;
  rules_.push_back(std::move(rule));
  return rules_.back().id;
}

std::optional<FaultRule> FaultInjector::take(const std::string& method, const std::string& path,
                                             bool is_watch) {
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (!it->method.empty() && it->method != method) continue;
    if (path.compare(0, it->path_prefix.size(), it->path_prefix) != 0) continue;
    if (it->watch && *it->watch != is_watch) continue;
    FaultRule taken = *it;
    if (--it->remaining == 0) rules_.erase(it);
    return taken;
  }
  return std::nullopt;
}

}  // namespace distls::k8s_double
