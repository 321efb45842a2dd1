#include "distls/util/event_loops.hpp"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace distls {

EventLoops::EventLoops(boost::asio::io_context& main, std::size_t threads) : main_(main) {
  threads = std::max<std::size_t>(threads, 1);
  for (std::size_t i = 1; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    // A worker runs only pumps, whose coroutines keep their own errors as data
    // (error_code); an exception out of run() would be a bug, and std::terminate says so.
    w->thread = std::thread([io = &w->io] { io->run(); });
    workers_.push_back(std::move(w));
  }
  load_.assign(size(), 0);
}

EventLoops::~EventLoops() {
  // Every tunnel has ended (main waited for its tasks), so nothing is queued: the
  // workers run out of work once the guards go and their threads return.
  for (auto& w : workers_) w->work.reset();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

EventLoops::Lease EventLoops::pick() {
  std::size_t best = 0;
  for (std::size_t i = 1; i < size(); ++i)
    if (best == 0 ? load_[i] <= load_[0] : load_[i] < load_[best]) best = i;
  ++load_[best];
  return Lease(this, best, best == 0 ? main_.get_executor() : boost::asio::any_io_executor(workers_[best - 1]->io.get_executor()));
}

std::size_t EventLoops::default_threads(const char* cgroup_root) {
  std::size_t cpus = 1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = std::max(1, CPU_COUNT(&set));
  // cgroup v2: "max 100000" (no quota) or "<quota> <period>" in microseconds.
  std::ifstream in(std::string(cgroup_root) + "/cpu.max");
  std::string quota;
  long long period = 0;
  if (in >> quota >> period && quota != "max" && period > 0) {
    try {
      const long long q = std::stoll(quota);
      if (q > 0) cpus = std::min<std::size_t>(cpus, static_cast<std::size_t>((q + period - 1) / period));
    } catch (const std::exception&) {
      // An unreadable quota limits nothing: the affinity count stands.
    }
  }
  return std::max<std::size_t>(cpus, 1);
}

}  // namespace distls
