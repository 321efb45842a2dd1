// The event loops tunnels splice on (--threads N): loop 0 is main's io_context, which
// also runs everything else (accepting, handshakes, EPMD, discovery, renewal, admin);
// loops 1..N-1 are workers, each an io_context run by a thread of its own, that only
// ever carry established tunnels' two pumps. A tunnel is handed to a worker after its
// handshake and admission and back to main when it ends (tunnel/tunnel_loop.hpp), so
// every shared structure (registries, the peer book, the log's callers) stays on main
// and needs no lock; what a pump touches on a worker is its own sockets, its own
// OpenSSL object (an SSL_CTX may be shared across threads) and byte counters, added
// atomically.
//
// Owned by main, declared after its io_context and before the Sidecar: workers stop and
// join when it is destroyed, after every tunnel has ended.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

namespace distls {

class EventLoops {
 public:
  // `threads` >= 1: main's loop and threads - 1 workers.
  EventLoops(boost::asio::io_context& main, std::size_t threads);
  ~EventLoops();
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  // What the process may use: the CPUs it is allowed to run on (sched_getaffinity),
  // fewer when a CPU quota allows less, e.g. a pod's `resources.limits.cpu: 1500m` or a
  // systemd unit's CPUQuota=150% gives 2. The quota is read as the kernel applies it:
  // cgroup v2's cpu.max of the process's own cgroup (from `proc_cgroup`) and of each
  // ancestor, the smallest; or cgroup v1's cpu.cfs_quota_us / cpu.cfs_period_us. At least 1.
  static std::size_t default_threads(const std::string& cgroup_root = "/sys/fs/cgroup",
                                     const std::string& proc_cgroup = "/proc/self/cgroup");

  std::size_t size() const { return 1 + workers_.size(); }

  // A loop held for one tunnel while it splices: counted until the lease ends.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept
        : loops_(std::exchange(o.loops_, nullptr)), index_(o.index_), executor_(std::move(o.executor_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (loops_) --loops_->load_[index_];
    }
    std::size_t index() const { return index_; }
    bool on_main() const { return index_ == 0; }
    const boost::asio::any_io_executor& executor() const { return executor_; }

   private:
    friend class EventLoops;
    Lease(EventLoops* loops, std::size_t index, boost::asio::any_io_executor ex)
        : loops_(loops), index_(index), executor_(std::move(ex)) {}
    EventLoops* loops_ = nullptr;
    std::size_t index_ = 0;
    boost::asio::any_io_executor executor_;
  };

  // The loop carrying the fewest tunnels, a worker before main on a tie: main also runs
  // every handshake. Called on main only, like the lease's end.
  Lease pick();
  // Tunnels on loop `i` now.
  std::size_t load(std::size_t i) const { return load_[i]; }

 private:
  struct Worker {
    boost::asio::io_context io{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
    std::thread thread;
  };

  boost::asio::io_context& main_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::size_t> load_;
};

// Moves an open socket to the loop of `ex` (the same descriptor, registered with that
// loop's reactor instead), in place, so that whatever refers to the socket object still
// does. Only while no operation is in flight on it. A closed socket just changes loops;
// a descriptor the new loop cannot take is closed, and the next operation says so.
template <class Socket>
void rebind_socket(Socket& s, const boost::asio::any_io_executor& ex) {
  boost::system::error_code ec;
  if (!s.is_open()) {
    s = Socket(ex);
    return;
  }
  const auto protocol = s.local_endpoint(ec).protocol();
  const auto fd = s.release(ec);
  Socket moved(ex);
  if (!ec) moved.assign(protocol, fd, ec);
  if (ec && fd >= 0) ::close(fd);
  s = std::move(moved);
}

}  // namespace distls
