// Request bodies in Kubernetes' protobuf encoding (Content-Type
// application/vnd.kubernetes.protobuf), turned into the JSON the rest of the double reads.
// client-go's typed clients send protobuf for built-in types, and kubectl's `certificate
// approve|deny` is one: its PUT to /approval arrives as protobuf. Responses are always
// JSON, which such clients accept too (they negotiate by the response's Content-Type).
//
// The envelope is the 4 bytes "k8s\0" and a runtime.Unknown {typeMeta = 1 {apiVersion = 1,
// kind = 2}, raw = 2, contentEncoding = 3, contentType = 4}; raw holds the object's message.
// Field numbers are those of k8s.io/api/certificates/v1/generated.proto and
// k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "tests/k8s/http/api_error.hpp"

namespace distls::k8s_double {

inline constexpr std::string_view kProtobufMediaType = "application/vnd.kubernetes.protobuf";

// A certificates.k8s.io/v1 CertificateSigningRequest; 400 BadRequest when the envelope or
// the message is malformed or names another kind. Empty fields are left out, as the JSON
// encoding's omitempty would.
Expected<boost::json::object> csr_from_protobuf(std::string_view body);

// An authorization.k8s.io/v1 SelfSubjectAccessReview (`kubectl auth can-i` sends one).
Expected<boost::json::object> access_review_from_protobuf(std::string_view body);

// A meta/v1 DeleteOptions (only preconditions are kept).
Expected<boost::json::object> delete_options_from_protobuf(std::string_view body);

}  // namespace distls::k8s_double
