#include "proxy/rate_limiter.hpp"

#include <algorithm>

namespace distls {

namespace {
// A map of every address ever seen would grow without bound under a scan.
constexpr std::size_t kMaxTracked = 10000;
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
