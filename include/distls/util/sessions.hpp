// The one owner of every live session (a tunnel, a stranger in the handshake, an EPMD or
// admin connection): each registers how to close itself for as long as it runs, and
// shutdown closes them all after the drain, so that their coroutines end (Tasks sees
// them go) before the io_context and the objects they use are destroyed.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <utility>

namespace distls {

class Sessions {
 public:
  // Removes its session when destroyed (the session's coroutine ends).
  class Handle {
   public:
    Handle() = default;
    Handle(Sessions& s, std::list<std::function<void()>>::iterator it) : s_(&s), it_(it) {}
    Handle(Handle&& o) noexcept : s_(std::exchange(o.s_, nullptr)), it_(o.it_) {}
    Handle& operator=(Handle&&) = delete;
    ~Handle() {
      if (s_) s_->closers_.erase(it_);
    }

   private:
    Sessions* s_ = nullptr;
    std::list<std::function<void()>>::iterator it_;
  };

  // `close` ends the session's I/O (closes its sockets); it is called at most once.
  [[nodiscard]] Handle add(std::function<void()> close) {
    return Handle(*this, closers_.insert(closers_.end(), std::move(close)));
  }
  std::size_t size() const { return closers_.size(); }

  // Closes every session; each one's coroutine then ends and removes its handle.
  std::size_t close_all() {
    std::size_t n = 0;
    for (auto& c : closers_)
      if (c) {
        std::exchange(c, nullptr)();
        ++n;
      }
    return n;
  }

 private:
  std::list<std::function<void()>> closers_;
};

}  // namespace distls
