// The one way distls starts a background coroutine. A coroutine spawned "detached" that
// throws ends without a word: a watch loop that meets a reply it did not expect would
// stop while /readyz goes on saying ready. Every task started here has a name; its end
// by an exception is logged with that name and counted
// (distls_task_failures_total{task}), and an essential task (the signer's loop, rotation,
// discovery, leader election) that ends at all, by error or by return, is reported to
// the owner, who decides what the process does (not ready, or exit).
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/util/log.hpp"
#include "distls/util/metrics.hpp"

namespace distls {

class Tasks {
 public:
  enum class Kind { optional, essential };
  // `essential_ended(task, why)`: an essential task is gone.
  using EssentialEnded = std::function<void(const std::string& task, const std::string& why)>;

  Tasks(boost::asio::any_io_executor ex, Logger& log, Metrics& metrics, EssentialEnded essential_ended = {});

  template <class Awaitable>
  void spawn(std::string name, Awaitable task, Kind kind = Kind::optional) {
    ++running_;
    boost::asio::co_spawn(ex_, std::move(task),
                          [this, name = std::move(name), kind](std::exception_ptr e, auto&&...) {
                            ended(name, kind, e);
                          });
  }

  // Runs `task` on another event loop (a worker of EventLoops) and resumes the caller on
  // its own loop when it ends; an exception comes back to the caller. Not a background
  // task: the caller waits for it, and the caller is the one counted.
  template <class T>
  static boost::asio::awaitable<T> run_on(boost::asio::any_io_executor ex, boost::asio::awaitable<T> task) {
    co_return co_await boost::asio::co_spawn(std::move(ex), std::move(task), boost::asio::use_awaitable);
  }

  std::size_t running() const { return running_; }
  const boost::asio::any_io_executor& executor() const { return ex_; }
  // From here on (shutdown), essential tasks that end are expected to: not reported.
  void stopping() { stopping_ = true; }
  bool failed() const { return !first_failure_.empty(); }
  // The first essential task that ended, and why ("" when none has).
  const std::string& first_failure() const { return first_failure_; }

 private:
  void ended(const std::string& name, Kind kind, std::exception_ptr e);

  boost::asio::any_io_executor ex_;
  Logger& log_;
  Metrics& metrics_;
  EssentialEnded essential_ended_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::string first_failure_;
};

}  // namespace distls
