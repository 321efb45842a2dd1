// A token bucket per source address (--handshake-rate): a host that opens connections
// faster than that is refused before any TLS work is done for it. The clock is passed
// in, so that tests need no sleeping.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace distls {

class RateLimiter {
 public:
  using clock = std::chrono::steady_clock;

  // `rate` connections per second on average, bursts of `burst`; rate 0 disables.
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}

  bool allow(const std::string& source, clock::time_point now);
  std::size_t tracked() const { return buckets_.size(); }

  // The bucket a connection from `a` counts against: its IPv4 address, or its IPv6 /64.
  // One host is routinely given a whole /64 (SLAAC, privacy addresses, a cloud VM's
  // prefix), so per-address buckets would let it mint sources at will.
  static std::string source_key(const boost::asio::ip::address& a);

 private:
  struct Bucket {
    double tokens;
    clock::time_point last;
  };
  double rate_, burst_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace distls
