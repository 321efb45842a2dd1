#include "distls/cli/proxy_command.hpp"

#include <cstdlib>
#include <iostream>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "distls/sidecar/sidecar.hpp"
#include "distls/util/event_loops.hpp"
#include "distls/util/tasks.hpp"

namespace distls {

namespace asio = boost::asio;

int run_proxy_command(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << proxy_usage();
      return 0;
    }
  ProxyConfig config;
  try {
    config = parse_proxy_config(args, process_env());
  } catch (const ConfigError& e) {
    std::cerr << "distls proxy: " << e.what() << "\n";
    return 2;
  }
  Logger log(std::cerr, config.log_level, config.log_json ? Logger::Format::json : Logger::Format::text);
  Metrics metrics;
  ares_library_init(ARES_LIB_INIT_ALL);  // c-ares's process-wide setup, once, before any channel

  // Declared in the order they depend on each other, so that they are destroyed in the
  // reverse: the Sidecar (and everything a coroutine of it refers to) goes first, the
  // io_context last. By then no coroutine is left: shutdown below waits for every task.
  asio::io_context io(1);  // one thread; tunnels may splice on workers (EventLoops)
  // Workers join when this goes, after the Sidecar and every tunnel it started.
  EventLoops loops(io, config.threads ? config.threads : EventLoops::default_threads());
  Tasks tasks(io.get_executor(), log, metrics, [&log](const std::string& task, const std::string& why) {
    // /readyz turns 503 with this reason (Sidecar::ready); the process keeps serving
    // what it still can, and the orchestrator sees it.
    log.error("essential_task_stopped", {{"task", task}, {"reason", why}});
  });
  std::optional<Sidecar> sidecar;
  try {
    sidecar.emplace(io, loops, config, log, metrics, tasks);
  } catch (const std::exception& e) {
    log.error("startup_failed", {{"reason", e.what()}});
    std::cerr << "distls proxy: " << e.what() << "\n";
    return 1;
  }

  asio::signal_set hup(io, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_hup = [&](const boost::system::error_code& ec, int) {
    if (ec) return;
    sidecar->reload();
    hup.async_wait(on_hup);
  };
  hup.async_wait(on_hup);

  // SIGTERM: stop accepting, let tunnels finish for --drain-timeout (a second signal cuts
  // it short), close what is left, and wait for every coroutine to end. The event loop
  // then runs out of work and io.run() returns.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool draining = false, cut_short = false;
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int sig) {
    if (ec) return;
    if (draining) {
      log.info("drain_cut_short", {{"signal", sig}, {"tunnels", sidecar->active()}});
      cut_short = true;
      return;
    }
    draining = true;
    log.info("draining", {{"signal", sig}, {"tunnels", sidecar->active()}, {"timeout_s", config.drain_timeout.count()}});
    tasks.stopping();
    sidecar->stop();
    hup.cancel();
    signals.async_wait(on_signal);
    tasks.spawn("shutdown", [&]() -> asio::awaitable<void> {
      const auto deadline = std::chrono::steady_clock::now() + config.drain_timeout;
      asio::steady_timer tick(io);
      while (sidecar->active() > 0 && !cut_short && std::chrono::steady_clock::now() < deadline) {
        tick.expires_after(std::chrono::milliseconds(50));
        co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      const auto left = sidecar->active();
      const auto closed = sidecar->close_all();
      // Every session's coroutine now sees its sockets closed and ends; wait for them.
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (tasks.running() > 1 && std::chrono::steady_clock::now() < until) {
        tick.expires_after(std::chrono::milliseconds(10));
        co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      log.info("shutdown", {{"tunnels_closed", left}, {"sessions_closed", closed},
                            {"detail", left ? (cut_short ? "second signal" : "drain timeout") : "drained"},
                            {"tasks_left", tasks.running() - 1}});
      signals.cancel();
    });
  };
  signals.async_wait(on_signal);

  sidecar->start();
  io.run();
  if (tasks.running() > 0) {
    // A coroutine that did not end would be destroyed with the io_context, after the
    // Sidecar it refers to: rather than that, leave without running destructors.
    log.error("shutdown_incomplete", {{"tasks_left", tasks.running()}});
    std::quick_exit(3);
  }
  return 0;
}

}  // namespace distls
