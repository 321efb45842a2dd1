// The large buffers tunnel pumps move bursts through, kept per event loop. A pump takes
// one only when a burst arrives (more than fits its small first-read buffer) and gives it
// back as soon as the burst is over, so an idle tunnel holds none; the few that are
// given back are kept for the next burst of any tunnel on the same loop, warm and
// without a trip to malloc (a 128 KiB block sits at glibc's mmap threshold: freeing and
// taking it again can cost munmap/mmap and page faults per burst).
//
// An Asio service: the io_context owns it, so each event loop has its own and no lock,
// and it lives exactly as long as the coroutines that use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/query.hpp>

namespace distls {

// Large enough to take a 64 KiB distribution message and its header in one read.
inline constexpr std::size_t kPumpBufferSize = 128 * 1024;

class PumpBuffers : public boost::asio::execution_context::service {
 public:
  using key_type = PumpBuffers;
  static inline boost::asio::execution_context::id id;

  // Enough for both directions of a few busy tunnels; beyond that a burst mallocs.
  static constexpr std::size_t kMaxCached = 4;

  explicit PumpBuffers(boost::asio::execution_context& ctx) : service(ctx) {}

  // The service of the loop that runs `ex`.
  template <class Executor>
  static PumpBuffers& of(const Executor& ex) {
    return boost::asio::use_service<PumpBuffers>(boost::asio::query(ex, boost::asio::execution::context));
  }

  // A buffer taken from the pool, given back when it goes out of scope.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), buf_(std::move(o.buf_)) {}
    Lease& operator=(Lease&& o) noexcept {
      if (this != &o) {
        reset();
        pool_ = std::exchange(o.pool_, nullptr);
        buf_ = std::move(o.buf_);
      }
      return *this;
    }
    ~Lease() { reset(); }

    explicit operator bool() const { return buf_ != nullptr; }
    std::uint8_t* data() const { return buf_.get(); }
    static constexpr std::size_t size() { return kPumpBufferSize; }
    void reset() {
      if (buf_) pool_->give(std::move(buf_));
    }

   private:
    friend class PumpBuffers;
    Lease(PumpBuffers* pool, std::unique_ptr<std::uint8_t[]> buf) : pool_(pool), buf_(std::move(buf)) {}
    PumpBuffers* pool_ = nullptr;
    std::unique_ptr<std::uint8_t[]> buf_;
  };

  Lease take() {
    ++leased_;
    if (cached_.empty()) return Lease(this, std::make_unique_for_overwrite<std::uint8_t[]>(kPumpBufferSize));
    auto buf = std::move(cached_.back());
    cached_.pop_back();
    return Lease(this, std::move(buf));
  }

  // Buffers held by pumps right now: what idle tunnels must not hold.
  std::size_t leased() const { return leased_; }
  std::size_t cached() const { return cached_.size(); }

 private:
  void give(std::unique_ptr<std::uint8_t[]> buf) {
    --leased_;
    if (!shut_down_ && cached_.size() < kMaxCached) cached_.push_back(std::move(buf));
  }
  // Coroutine frames still holding leases are destroyed after this, while the io_context
  // shuts down: their buffers are then freed, not cached.
  void shutdown() override {
    shut_down_ = true;
    cached_.clear();
  }

  std::vector<std::unique_ptr<std::uint8_t[]>> cached_;
  std::size_t leased_ = 0;
  bool shut_down_ = false;
};

}  // namespace distls
