// Notices when files change. Polls their contents rather than using inotify: cert-manager's
// csi-driver and Kubernetes Secret mounts replace files by swapping a symlinked directory,
// which inotify on the files themselves misses, while a content fingerprint catches every
// kind of update (rename, rewrite, symlink swap) at the cost of reading a few KiB.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "distls/util/tasks.hpp"

namespace distls {

class FileWatch {
 public:
  FileWatch(Tasks& tasks, std::vector<std::filesystem::path> files,
            std::chrono::milliseconds interval, std::function<void()> on_change);

  // Takes the current contents as the baseline, then polls.
  void start();
  void stop();
  // Compares now (SIGHUP); calls on_change when anything differs from the last look.
  void check_now();

  // A fingerprint of the files' contents as they are now; a missing or unreadable file
  // counts as its own state.
  static std::string fingerprint(const std::vector<std::filesystem::path>& files);

 private:
  boost::asio::awaitable<void> run();

  Tasks& tasks_;
  std::vector<std::filesystem::path> files_;
  std::chrono::milliseconds interval_;
  std::function<void()> on_change_;
  boost::asio::steady_timer timer_;
  std::string last_;
  bool stopped_ = false;
};

}  // namespace distls
