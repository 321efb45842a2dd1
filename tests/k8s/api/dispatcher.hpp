// The front door every request passes: health endpoints, injected faults, authentication,
// then the control API (admin only) or the Kubernetes API; one log line and one request-log
// entry per request. What to do with the connection comes back as a Decision.
#pragma once

#include <chrono>
#include <functional>
#include <variant>

#include "distls/util/log.hpp"
#include "tests/k8s/control/control_api.hpp"
#include "tests/k8s/control/fault_injector.hpp"
#include "tests/k8s/api/kube_api.hpp"
#include "tests/k8s/http/request_log.hpp"
#include "tests/k8s/auth/token_registry.hpp"

namespace distls::k8s_double {

struct Hang {};  // read the request, never answer, keep the connection until the client leaves
struct Drop {};  // close the connection without an answer
struct Delay {   // wait, then handle the request as if no fault matched
  std::chrono::milliseconds ms;
};
struct Watch {
  WatchSpec spec;
  std::string user;
};
using Decision = std::variant<Reply, Watch, Hang, Drop, Delay>;

class Dispatcher {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;

  Dispatcher(KubeApi& api, ControlApi& control, const TokenRegistry& tokens, FaultInjector& faults,
             RequestLog& log, Logger& logger, Now now)
      : api_(api),
        control_(control),
        tokens_(tokens),
        faults_(faults),
        log_(log),
        logger_(logger),
        now_(std::move(now)) {}

  // after_delay: the second pass of a Delay fault, which must not consume another fault.
  Decision handle(const ApiRequest& req, bool after_delay = false);

 private:
  Decision decide(const ApiRequest& req, bool after_delay, std::string& user, std::string& fault);

  KubeApi& api_;
  ControlApi& control_;
  const TokenRegistry& tokens_;
  FaultInjector& faults_;
  RequestLog& log_;
  Logger& logger_;
  Now now_;
};

}  // namespace distls::k8s_double
