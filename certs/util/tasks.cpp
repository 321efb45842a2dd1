#include "distls/util/tasks.hpp"

namespace distls {

Tasks::Tasks(boost::asio::any_io_executor ex, Logger& log, Metrics& metrics, EssentialEnded essential_ended)
    : ex_(std::move(ex)), log_(log), metrics_(metrics), essential_ended_(std::move(essential_ended)) {
  metrics_.help("distls_task_failures_total", "Background tasks ended by an unexpected exception, by task");
}

void Tasks::ended(const std::string& name, Kind kind, std::exception_ptr e) {
  --running_;
  std::string why;
  if (e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      why = x.what();
    } catch (...) {
      why = "an exception of unknown type";
    }
    metrics_.counter("distls_task_failures_total", {{"task", name}})++;
    log_.error("task_failed", {{"task", name}, {"reason", why}});
  } else if (kind == Kind::essential) {
    why = "ended";
  }
  if (kind != Kind::essential || why.empty() || (stopping_ && !e)) return;
  if (first_failure_.empty()) first_failure_ = name + ": " + why;
  if (essential_ended_) essential_ended_(name, why);
}

}  // namespace distls
