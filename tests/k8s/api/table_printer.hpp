// Server-side printing: `kubectl get` asks for a meta.k8s.io Table (Accept
// application/json;as=Table;v=v1;g=meta.k8s.io) and prints its cells as they come, so the
// columns are the ones pkg/printers/internalversion/printers.go defines for CSRs
// (NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION) and pods.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "tests/k8s/objects/resource_types.hpp"

namespace distls::k8s_double {

// k8s.io/apimachinery/pkg/util/duration.HumanDuration: "45s", "2m30s", "5h", "3d4h", ...
std::string human_duration(std::chrono::seconds d);

// "Approved,Issued", "Pending", "Denied,Failed", ... as extractCSRStatus prints it.
std::string csr_condition_summary(const boost::json::object& csr);

enum class IncludeObject { none, metadata, object };  // the includeObject query parameter

struct TableOptions {
  std::string version = "v1";  // meta.k8s.io version asked for
  IncludeObject include = IncludeObject::metadata;
  std::chrono::system_clock::time_point now;
};

boost::json::object to_table(const ResourceType& type, const std::vector<const boost::json::object*>& objects,
                             const std::string& list_rv, const TableOptions& opts);

}  // namespace distls::k8s_double
