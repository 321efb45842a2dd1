// Caps the connections distls holds at once (--max-connections), counting tunnels and
// handshakes in progress in both directions, so that a flood cannot exhaust descriptors.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>

namespace distls {

class ConnectionLimiter {
 public:
  class Slot {
   public:
    explicit Slot(ConnectionLimiter* l) : l_(l) {}
    Slot(Slot&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (l_) --l_->active_;
    }

   private:
    ConnectionLimiter* l_;
  };

  explicit ConnectionLimiter(std::size_t max) : max_(max) {}
  std::optional<Slot> try_acquire() {
    if (active_ >= max_) return std::nullopt;
    ++active_;
    return Slot(this);
  }
  std::size_t active() const { return active_; }

 private:
  std::size_t max_;
  std::size_t active_ = 0;
};

}  // namespace distls
