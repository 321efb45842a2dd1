// The discovery documents kubectl reads before it does anything: /version, /api, /api/v1,
// /apis, /apis/GROUP and /apis/GROUP/VERSION for every group the double serves
// (certificates.k8s.io, coordination.k8s.io, apps, rbac.authorization.k8s.io,
// authorization.k8s.io, authentication.k8s.io). All are the legacy (unaggregated) forms,
// served as plain application/json: client-go asks for aggregated discovery
// (apidiscovery.k8s.io/v2 APIGroupDiscoveryList) first and falls back to these when the
// response's Content-Type is not the aggregated one.
#pragma once

#include <optional>
#include <string>

#include <boost/json/object.hpp>

namespace distls::k8s_double {

// The version reported at /version. kubectl's version-skew warning, and the gcloud
// kubectl dispatcher's choice of binary, key on it, so it names a real release.
inline constexpr const char* kServedMajor = "1";
inline constexpr const char* kServedMinor = "32";
inline constexpr const char* kServedGitVersion = "v1.32.0";

boost::json::object version_info();
boost::json::object api_versions(const std::string& server_address);  // /api
boost::json::object core_v1_resources();                              // /api/v1
boost::json::object api_group_list();                                 // /apis
std::optional<boost::json::object> api_group(const std::string& name);  // /apis/GROUP
// /apis/GROUP/VERSION, given as "GROUP/VERSION".
std::optional<boost::json::object> group_version_resources(const std::string& group_version);

}  // namespace distls::k8s_double
