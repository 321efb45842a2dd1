#include "distls/util/event_loops.hpp"

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

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
  if (best == 0) return Lease(this, 0, main_.get_executor());
  return Lease(this, best, workers_[best - 1]->io.get_executor());
}

namespace {

// CPUs a quota of `quota` per `period` allows, rounded up; nullopt for none or garbage.
std::optional<std::size_t> cpus_of_quota(const std::string& quota, const std::string& period) {
  try {
    const long long q = std::stoll(quota), p = std::stoll(period);
    if (q > 0 && p > 0) return static_cast<std::size_t>((q + p - 1) / p);
  } catch (const std::exception&) {
    // "max", "-1" or something unreadable: it limits nothing.
  }
  return std::nullopt;
}

std::string first_word(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string word;
  in >> word;
  return word;
}

std::vector<std::string> lines_of(const std::string& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// cgroup v2: the smallest cpu.max quota from the process's cgroup up to the root.
std::optional<std::size_t> v2_quota(const std::filesystem::path& root, const std::vector<std::string>& proc_cgroup) {
  std::string path;
  for (const auto& line : proc_cgroup)
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  std::vector<std::filesystem::path> dirs{root};
  for (const auto& part : std::filesystem::path(path).relative_path())
    if (!part.empty() && part != "." && part != "..") dirs.push_back(dirs.back() / part);
  std::optional<std::size_t> least;
  for (const auto& dir : dirs) {
    std::ifstream max(dir / "cpu.max");
    std::string quota, period;
    if (max >> quota >> period)
      if (auto n = cpus_of_quota(quota, period); n && (!least || *n < *least)) least = n;
  }
  return least;
}

std::vector<std::filesystem::path> v1_cpu_dirs(const std::filesystem::path& root,
                                               const std::vector<std::string>& proc_cgroup) {
  std::vector<std::filesystem::path> dirs;
  for (const auto& line : proc_cgroup) {
    // "4:cpu,cpuacct:/kubepods/...": hierarchy, controllers, path.
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    if (controllers.find(",cpu,") == std::string::npos) continue;
    for (const char* mount : {"cpu", "cpu,cpuacct", "cpuacct,cpu"})
      dirs.push_back(root / mount / std::filesystem::path(line.substr(b + 1)).relative_path());
  }
  for (const char* mount : {"cpu", "cpu,cpuacct", "cpuacct,cpu"}) dirs.push_back(root / mount);
  return dirs;
}

}  // namespace

std::size_t EventLoops::default_threads(const std::string& cgroup_root, const std::string& proc_cgroup) {
  std::size_t cpus = 1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = std::max(1, CPU_COUNT(&set));
  const std::filesystem::path root(cgroup_root);
  const auto self = lines_of(proc_cgroup);
  auto quota = v2_quota(root, self);
  // cgroup v1: the cpu controller's directory for this process, or the mount's own
  // (a container runtime mounts the container's cgroup there).
  for (const auto& dir : v1_cpu_dirs(root, self))
    if (!quota) quota = cpus_of_quota(first_word(dir / "cpu.cfs_quota_us"), first_word(dir / "cpu.cfs_period_us"));
  if (quota) cpus = std::min(cpus, *quota);
  return std::max<std::size_t>(cpus, 1);
}

}  // namespace distls
