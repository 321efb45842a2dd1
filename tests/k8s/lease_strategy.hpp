// What the apiserver does to a coordination.k8s.io/v1 Lease on the way into storage
// (pkg/registry/coordination/lease and pkg/apis/coordination/validation): a plain
// namespaced object, spec validated, updates conditional on resourceVersion.
#pragma once

#include <chrono>
#include <string>

#include <boost/json/object.hpp>

#include "tests/k8s/api_error.hpp"
#include "tests/k8s/json_util.hpp"

namespace distls::k8s_double {

// `decoded` came through decode_object(lease_schema()); `ns` is the URL's namespace.
Expected<boost::json::object> lease_for_create(boost::json::object decoded, const std::string& ns,
                                               IdSource& ids, std::chrono::system_clock::time_point now);

// `incoming` has passed the name, uid and resourceVersion preconditions.
Expected<boost::json::object> lease_for_update(boost::json::object incoming,
                                               const boost::json::object& stored);

}  // namespace distls::k8s_double
