#include "distls/util/event_loops.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include <sched.h>

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace distls {
namespace {

namespace fs = std::filesystem;

std::size_t allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  return static_cast<std::size_t>(CPU_COUNT(&set));
}

class DefaultThreads : public ::testing::Test {
 protected:
  fs::path root = fs::temp_directory_path() / ("distls-cgroup-" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(root / "kubepods/pod1/distls"); }
  void TearDown() override { fs::remove_all(root); }
  void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }
  // The process sits in kubepods/pod1/distls (cgroup v2), as a container does.
  std::size_t threads() {
    write(root / "self-cgroup", "0::/kubepods/pod1/distls\n");
    return EventLoops::default_threads(root.string(), (root / "self-cgroup").string());
  }
  std::size_t with_cpu_max(const std::string& text) {
    write(root / "kubepods/pod1/distls/cpu.max", text);
    return threads();
  }
};

TEST_F(DefaultThreads, WithoutAQuotaEveryAllowedCpu) {
  EXPECT_EQ(threads(), allowed_cpus());  // no cpu.max anywhere
  EXPECT_EQ(with_cpu_max("max 100000\n"), allowed_cpus());
}

TEST_F(DefaultThreads, AQuotaRoundsUpAndNeverExceedsTheCpus) {
  EXPECT_EQ(with_cpu_max("50000 100000\n"), 1u);  // 500m
  EXPECT_EQ(with_cpu_max("150000 100000\n"), std::min<std::size_t>(2, allowed_cpus()));  // 1500m
  EXPECT_EQ(with_cpu_max("6400000 100000\n"), allowed_cpus());  // 64 CPUs' worth
}

// A pod's limit sits on the pod's cgroup, above the container's: the kernel applies
// the smallest on the way to the root.
TEST_F(DefaultThreads, AnAncestorsQuotaCounts) {
  write(root / "kubepods/pod1/cpu.max", "100000 100000\n");
  EXPECT_EQ(with_cpu_max("max 100000\n"), 1u);
  write(root / "cpu.max", "50000 100000\n");  // the root's file, when a container sees one
  write(root / "kubepods/pod1/cpu.max", "max 100000\n");
  EXPECT_EQ(threads(), 1u);
}

TEST_F(DefaultThreads, CgroupV1Quota) {
  const auto self = (root / "self-cgroup").string();
  write(self, "5:memory:/kubepods/pod2\n4:cpu,cpuacct:/kubepods/pod2\n");
  write(root / "cpu,cpuacct/kubepods/pod2/cpu.cfs_quota_us", "50000\n");
  write(root / "cpu,cpuacct/kubepods/pod2/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(EventLoops::default_threads(root.string(), self), 1u);
  write(root / "cpu,cpuacct/kubepods/pod2/cpu.cfs_quota_us", "-1\n");  // no quota
  EXPECT_EQ(EventLoops::default_threads(root.string(), self), allowed_cpus());
  // A runtime that mounts the container's own cgroup at the controller's root.
  write(self, "4:cpu,cpuacct:/docker/0123abcd\n");
  write(root / "cpu,cpuacct/cpu.cfs_quota_us", "100000\n");
  write(root / "cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(EventLoops::default_threads(root.string(), self), 1u);
}

TEST_F(DefaultThreads, AnUnreadableQuotaLimitsNothing) {
  EXPECT_EQ(with_cpu_max("lots 100000\n"), allowed_cpus());
  EXPECT_EQ(with_cpu_max("100000 0\n"), allowed_cpus());
  EXPECT_EQ(with_cpu_max(""), allowed_cpus());
}

// Workers first (main runs every handshake too), then round robin by load.
TEST(EventLoops, PicksTheLeastLoadedLoopWorkersFirst) {
  boost::asio::io_context io;
  EventLoops loops(io, 3);
  ASSERT_EQ(loops.size(), 3u);
  auto a = loops.pick();
  auto b = loops.pick();
  auto c = loops.pick();
  EXPECT_EQ(a.index(), 1u);
  EXPECT_EQ(b.index(), 2u);
  EXPECT_EQ(c.index(), 0u);
  EXPECT_TRUE(c.on_main());
  {
    auto gone = std::move(b);
  }
  EXPECT_EQ(loops.load(2), 0u);
  EXPECT_EQ(loops.pick().index(), 2u);  // the lease ended with its scope: loop 2 is free again
  EXPECT_EQ(loops.load(1), 1u);
}

TEST(EventLoops, OneThreadIsMainsLoopAlone) {
  boost::asio::io_context io;
  EventLoops loops(io, 1);
  EXPECT_EQ(loops.size(), 1u);
  auto only = loops.pick();
  EXPECT_TRUE(only.on_main());
  EXPECT_TRUE(only.executor() == boost::asio::any_io_executor(io.get_executor()));
}

TEST(EventLoops, AWorkerRunsOnAThreadOfItsOwn) {
  boost::asio::io_context io;
  EventLoops loops(io, 2);
  auto lease = loops.pick();
  ASSERT_FALSE(lease.on_main());
  auto guard = boost::asio::make_work_guard(io);
  std::thread::id worker{}, back{};
  boost::asio::post(lease.executor(), [&] {
    worker = std::this_thread::get_id();
    boost::asio::post(io, [&] {
      back = std::this_thread::get_id();
      guard.reset();
    });
  });
  io.run();  // until the worker's answer came back
  EXPECT_EQ(back, std::this_thread::get_id());
  EXPECT_NE(worker, std::this_thread::get_id());
  EXPECT_NE(worker, std::thread::id{});
}

}  // namespace
}  // namespace distls
