// A token bucket per source address (--handshake-rate): a host that opens connections
// faster than that is refused before any TLS work is done for it. The clock is passed
// in, so that tests need no sleeping.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace distls {

class RateLimiter {
 public:
  using clock = std::chrono::steady_clock;

  // `rate` connections per second on average, bursts of `burst`; rate 0 disables.
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}

  bool allow(const std::string& source, clock::time_point now);
  std::size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    clock::time_point last;
  };
  double rate_, burst_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace distls
