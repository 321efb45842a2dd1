// Just enough OpenAPI v3 for kubectl's create/apply: kubectl validates objects on the
// server (fieldValidation=Strict) once /openapi/v3 tells it, per group-version, that the
// PATCH operation of the kind takes a `fieldValidation` query parameter
// (resource.QueryParamVerifierV3); without /openapi it refuses to send anything unless
// given --validate=false. The documents carry operations, not schemas: nothing the double
// serves needs client-side schemas.
#pragma once

#include <optional>
#include <string>

#include <boost/json/object.hpp>

namespace distls::k8s_double {

boost::json::object openapi_v3_root();  // /openapi/v3
// /openapi/v3/<gv path> ("apis/certificates.k8s.io/v1", "api/v1"), or nullopt.
std::optional<boost::json::object> openapi_v3_group_version(const std::string& gv_path);

}  // namespace distls::k8s_double
