// What the apiserver does on the way into storage for objects without a strategy of
// their own beyond validation (Leases, Events, Roles and bindings): the generic registry's
// BeforeCreate / BeforeUpdate (metadata set or kept by the server), then the type's
// validation (422 Invalid). CSRs have csr_strategy.
#pragma once

#include <chrono>
#include <string>

#include <boost/json/object.hpp>

#include "tests/k8s/http/api_error.hpp"
#include "tests/k8s/encoding/json_util.hpp"
#include "tests/k8s/objects/resource_types.hpp"

namespace distls::k8s_double {

// `decoded` came through decode_object(type.schema()); `ns` is the URL's namespace ("" for
// cluster-scoped types).
Expected<boost::json::object> object_for_create(const ResourceType& type, boost::json::object decoded,
                                                const std::string& ns, IdSource& ids,
                                                std::chrono::system_clock::time_point now);

// `incoming` has passed the name, uid and resourceVersion preconditions.
Expected<boost::json::object> object_for_update(const ResourceType& type, boost::json::object incoming,
                                                const boost::json::object& stored);

// Leases (pkg/apis/coordination/validation), Events (pkg/apis/core/validation/events.go),
// RBAC (pkg/apis/rbac/validation): what each type's Validate adds.
std::vector<FieldError> validate_lease(const boost::json::object& lease, const boost::json::object* old);
std::vector<FieldError> validate_event(const boost::json::object& event, const boost::json::object* old);
// pkg/apis/core/validation ValidateConfigMap(Update): keys are config keys (IsConfigMapKey:
// [-._a-zA-Z0-9]+, at most 253, not "." or ".."), unique across data and binaryData; an
// immutable ConfigMap keeps its data and stays immutable.
std::vector<FieldError> validate_configmap(const boost::json::object& cm, const boost::json::object* old);
std::vector<FieldError> validate_role(const boost::json::object& role, const boost::json::object* old);
std::vector<FieldError> validate_cluster_role(const boost::json::object& role, const boost::json::object* old);
std::vector<FieldError> validate_role_binding(const boost::json::object& binding, const boost::json::object* old);
// SetDefaults_Subject: a User or Group subject without apiGroup is in rbac.authorization.k8s.io.
void default_subjects(boost::json::object& binding);
std::vector<FieldError> validate_cluster_role_binding(const boost::json::object& binding,
                                                      const boost::json::object* old);

}  // namespace distls::k8s_double
