// The RBAC objects every cluster has from its first start (plugin/pkg/auth/authorizer/
// rbac/bootstrappolicy): cluster-admin for system:masters, and for every authenticated
// user discovery (system:discovery), /version and health (system:public-info-viewer) and
// the self-reviews behind `kubectl auth can-i` and `kubectl auth whoami`
// (system:basic-user). Nothing else: what a workload may do comes from the RBAC a test
// loads (deploy/'s manifests, or explicit grants).
#pragma once

#include <chrono>

#include "tests/k8s/encoding/json_util.hpp"
#include "tests/k8s/store/object_store.hpp"

namespace distls::k8s_double {

void install_bootstrap_policy(ObjectStore& store, IdSource& ids, std::chrono::system_clock::time_point now);

}  // namespace distls::k8s_double
