// Every API request the double answered, for tests to assert on ("the client retried after
// the 503", "it used the rotated token", "it watched from the list's resourceVersion").
// Bounded: the oldest entries go first.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace distls::k8s_double {

struct LoggedRequest {
  std::uint64_t seq = 0;
  std::string time;  // RFC 3339 with milliseconds
  std::string method;
  std::string target;   // path and query, as sent
  std::string path;     // decoded path
  std::string user;     // "" when unauthenticated
  unsigned status = 0;  // 0 when no response was sent (hang, close)
  bool watch = false;
  std::string fault;  // "", or the injected action ("status", "hang", "close", "delay")

  boost::json::object to_json() const;
};

class RequestLog {
 public:
  explicit RequestLog(std::size_t limit = 20000) : limit_(limit) {}
  std::uint64_t add(LoggedRequest r);
  std::vector<LoggedRequest> since(std::uint64_t seq) const;  // entries with seq > given
  void clear() { entries_.clear(); }
  std::uint64_t last_seq() const { return next_ - 1; }

 private:
  std::size_t limit_;
  std::deque<LoggedRequest> entries_;
  std::uint64_t next_ = 1;
};

}  // namespace distls::k8s_double
