#include "tests/k8s/http/request_log.hpp"

namespace distls::k8s_double {

boost::json::object LoggedRequest::to_json() const {
  boost::json::object o;
  o["seq"] = seq;
  o["time"] = time;
  o["method"] = method;
  o["target"] = target;
  o["path"] = path;
  o["user"] = user;
  o["status"] = status;
  o["watch"] = watch;
  if (!fault.empty()) o["fault"] = fault;
  return o;
}

std::uint64_t RequestLog::add(LoggedRequest r) {
  r.seq = next_++;
  entries_.push_back(std::move(r));
  while (entries_.size() > limit_) entries_.pop_front();
  return entries_.back().seq;
}

std::vector<LoggedRequest> RequestLog::since(std::uint64_t seq) const {
  std::vector<LoggedRequest> out;
  for (const auto& e : entries_)
    if (e.seq > seq) out.push_back(e);
  return out;
}

}  // namespace distls::k8s_double
