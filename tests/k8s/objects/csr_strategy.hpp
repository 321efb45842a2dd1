// What the apiserver does to a CertificateSigningRequest on the way into storage: the
// strategies of pkg/registry/certificates/certificates/strategy.go (what a create or an
// update of the object, /approval or /status may change) and the validation of
// pkg/apis/certificates/validation (what is then refused with 422 Invalid).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "tests/k8s/http/api_error.hpp"
#include "tests/k8s/encoding/json_util.hpp"
#include "tests/k8s/auth/user_info.hpp"

namespace distls::k8s_double {

using Clock = std::chrono::system_clock;

// Why spec.request is unacceptable (first PEM block not a CERTIFICATE REQUEST, unparsable,
// or its self-signature does not verify), or nullopt. Takes the decoded bytes, i.e. PEM.
std::optional<std::string> csr_request_problem(std::string_view pem);
// Why status.certificate is unacceptable (ValidateCertificate), or nullopt; "" is fine.
std::optional<std::string> certificate_problem(std::string_view pem);

// ValidateSignerName.
std::vector<FieldError> validate_signer_name(const std::string& field, const std::string& signer);

// PrepareForCreate + defaulting + ValidateCertificateSigningRequestCreate. `decoded` came
// through decode_object(csr_schema()). Sets name (from generateName), uid,
// creationTimestamp, spec.username/uid/groups/extra from `user`, and an empty status.
Expected<boost::json::object> csr_for_create(boost::json::object decoded, const UserInfo& user, IdSource& ids,
                                             Clock::time_point now);

enum class CsrUpdate { object, approval, status };

// PrepareForUpdate of the strategy for `which` + its ValidateUpdate: the object to store
// (resourceVersion is the store's business). `incoming` has passed the name, uid and
// resourceVersion preconditions already.
Expected<boost::json::object> csr_for_update(CsrUpdate which, boost::json::object incoming,
                                             const boost::json::object& stored, Clock::time_point now);

}  // namespace distls::k8s_double
