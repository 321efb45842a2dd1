// A request as the handlers see it (decoded path and query, the few headers that matter)
// and the reply they produce; the HTTP server converts to and from Beast messages.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "tests/k8s/http/api_error.hpp"

namespace distls::k8s_double {

struct ApiRequest {
  std::string method;                        // "GET", "POST", ...
  std::string target;                        // as sent: path and query
  std::string path;                          // decoded, without the query
  std::vector<std::string> segments;         // decoded path segments, empty ones dropped
  std::map<std::string, std::string> query;  // decoded; the last of repeated keys wins
  std::string authorization;
  std::string accept;
  std::string content_type;
  std::string body;

  std::string param(const std::string& key) const {
    const auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  }
  bool has_param(const std::string& key) const { return query.contains(key); }
  // "true"/"1" as strconv.ParseBool would take them.
  bool flag(const std::string& key) const;
};

// Fills target, path, segments and query from a request-target; 400 when malformed.
Expected<ApiRequest> parse_target(std::string method, std::string_view target);

struct Reply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Reply json(unsigned status, const boost::json::value& v);
  static Reply error(const ApiError& e);  // the Status object, with Retry-After when set
  static Reply text(unsigned status, std::string body);
};

// What the Accept header asks for.
struct Negotiated {
  bool table = false;         // application/json;as=Table;g=meta.k8s.io;v=v1 (or v1beta1)
  std::string table_version;  // "v1" or "v1beta1"
  bool json = false;          // plain JSON is acceptable (application/json, */*, none given)
};
Negotiated negotiate(std::string_view accept);

}  // namespace distls::k8s_double
