// The discovery documents kubectl reads before it does anything: /version, /api, /api/v1,
// /apis, /apis/certificates.k8s.io[/v1], /apis/coordination.k8s.io[/v1]. All are the legacy (unaggregated)
// forms, served as plain application/json: client-go asks for aggregated discovery (apidiscovery.k8s.io/v2
// APIGroupDiscoveryList) first and falls back to these when the response's Content-Type is not the aggregated
// one.
#pragma once

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
boost::json::object certificates_group();                             // /apis/certificates.k8s.io
boost::json::object certificates_v1_resources();                      // /apis/certificates.k8s.io/v1
boost::json::object coordination_group();                             // /apis/coordination.k8s.io
boost::json::object coordination_v1_resources();                      // /apis/coordination.k8s.io/v1

}  // namespace distls::k8s_double
