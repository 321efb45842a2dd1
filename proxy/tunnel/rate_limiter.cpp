#include "distls/tunnel/rate_limiter.hpp"

#include <algorithm>

namespace distls {

namespace {
// A map of every address ever seen would grow without bound under a scan.
constexpr std::size_t kMaxTracked = 10000;
}

std::string RateLimiter::source_key(const boost::asio::ip::address& a) {
  if (a.is_v4()) return a.to_string();
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

bool RateLimiter::allow(const std::string& source, clock::time_point now) {
  if (rate_ <= 0) return true;
  if (buckets_.size() >= kMaxTracked)  // full buckets carry no information: forget them
    std::erase_if(buckets_, [&](const auto& kv) {
      const auto idle = std::chrono::duration<double>(now - kv.second.last).count();
      return kv.second.tokens + idle * rate_ >= burst_;
    });
  auto [it, fresh] = buckets_.try_emplace(source, Bucket{burst_, now});
  auto& b = it->second;
  if (!fresh) {
    const auto elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace distls
