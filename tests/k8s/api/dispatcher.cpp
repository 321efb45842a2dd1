#include "tests/k8s/api/dispatcher.hpp"

#include <cstdio>
#include <ctime>

namespace distls::k8s_double {

namespace {

std::string time_ms(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()) % 1000;
  std::string s = format_time(t);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms.count()));
  return s.insert(s.size() - 1, frac);
}

}  // namespace

Decision Dispatcher::decide(const ApiRequest& req, bool after_delay, std::string& user, std::string& fault) {
  const auto& s = req.segments;
  if (s.size() == 1 && (s[0] == "healthz" || s[0] == "livez" || s[0] == "readyz"))
    return Reply::text(200, "ok");

  const bool control = !s.empty() && s[0] == "_double";
  if (!control && !after_delay) {
    if (auto f = faults_.take(req.method, req.path, req.flag("watch"))) {
      switch (f->action) {
        case FaultRule::Action::status: {
          fault = "status";
          ApiError e = from_code(f->status, f->message);
          e.retry_after_seconds = f->retry_after_seconds;
          return Reply::error(e);
        }
        case FaultRule::Action::hang:
          fault = "hang";
          return Hang{};
        case FaultRule::Action::close:
          fault = "close";
          return Drop{};
        case FaultRule::Action::delay:
          fault = "delay";
          return Delay{f->delay};
      }
    }
  }

  const auto who = tokens_.authenticate(req.authorization);
  if (!who) return Reply::error(unauthorized());
  user = who->name;
  if (control) {
    if (!who->in_group("system:masters"))
      return Reply::error(
          {403, "Forbidden", "the control API is for the admin token (group system:masters)", {}, {}});
    return control_.handle(req);
  }
  Outcome o = api_.handle(req, *who);
  if (auto* w = std::get_if<WatchSpec>(&o)) return Watch{std::move(*w), who->name};
  return std::get<Reply>(std::move(o));
}

Decision Dispatcher::handle(const ApiRequest& req, bool after_delay) {
  std::string user, fault;
  Decision d = decide(req, after_delay, user, fault);
  if (std::holds_alternative<Delay>(d)) return d;  // logged on the second pass

  LoggedRequest entry;
  entry.time = time_ms(now_());
  entry.method = req.method;
  entry.target = req.target;
  entry.path = req.path;
  entry.user = user;
  entry.watch = std::holds_alternative<Watch>(d);
  entry.fault = after_delay ? "delay" : fault;
  if (const auto* r = std::get_if<Reply>(&d))
    entry.status = r->status;
  else if (entry.watch)
    entry.status = 200;
  const bool control = !req.segments.empty() && req.segments[0] == "_double";
  // The control API's own traffic is not what tests assert on.
  if (!control) log_.add(entry);
  logger_.info(control ? "control" : "request", {{"method", req.method},
                                                 {"target", req.target},
                                                 {"user", user.empty() ? "-" : user},
                                                 {"status", entry.status},
                                                 {"watch", entry.watch ? "true" : "false"},
                                                 {"fault", entry.fault.empty() ? "-" : entry.fault}});
  return d;
}

}  // namespace distls::k8s_double
