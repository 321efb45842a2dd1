#include "tests/k8s/http/api_request.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace distls::k8s_double {

namespace json = boost::json;

bool ApiRequest::flag(const std::string& key) const {
  const std::string v = param(key);
  return v == "true" || v == "1" || v == "True" || v == "TRUE" || v == "t" || v == "T";
}

Expected<ApiRequest> parse_target(std::string method, std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return bad_request("malformed request target " + go_quote(target));
  const boost::urls::url_view u = *parsed;
  ApiRequest r;
  r.method = std::move(method);
  r.target = std::string(target);
  r.path = u.path();
  for (auto seg : u.segments())
    if (!seg.empty()) r.segments.push_back(seg);
  for (auto p : u.params()) r.query[p.key] = p.has_value ? p.value : std::string();
  return r;
}

Reply Reply::json(unsigned status, const json::value& v) {
  Reply r;
  r.status = status;
  r.body = json::serialize(v);
  r.body += '\n';
  return r;
}

Reply Reply::error(const ApiError& e) {
  Reply r = json(e.code, e.to_status());
  if (e.retry_after_seconds) r.headers.emplace_back("Retry-After", std::to_string(*e.retry_after_seconds));
  return r;
}

Reply Reply::text(unsigned status, std::string body) {
  Reply r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

namespace {

std::string trim_lower(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

Negotiated negotiate(std::string_view accept) {
  Negotiated n;
  if (trim_lower(accept).empty()) {
    n.json = true;
    return n;
  }
  std::size_t start = 0;
  while (start <= accept.size()) {
    const auto comma = accept.find(',', start);
    const std::string_view range =
        accept.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? accept.size() + 1 : comma + 1;
    // type;param=value;...
    std::string type;
    std::map<std::string, std::string> params;
    std::size_t p = 0;
    bool first = true;
    while (p <= range.size()) {
      const auto semi = range.find(';', p);
      const auto part = range.substr(p, semi == std::string_view::npos ? std::string_view::npos : semi - p);
      p = semi == std::string_view::npos ? range.size() + 1 : semi + 1;
      if (first) {
        type = trim_lower(part);
        first = false;
        continue;
      }
      const auto eq = part.find('=');
      if (eq != std::string_view::npos)
        params[trim_lower(part.substr(0, eq))] = trim_lower(part.substr(eq + 1));
    }
    const bool json_type = type == "application/json" || type == "*/*" || type == "application/*";
    if (!json_type) continue;
    if (params.contains("as")) {
      // Only Table is served; other conversions (PartialObjectMetadata...) fall to the next range.
      if (params["as"] == "table" && params["g"] == "meta.k8s.io" &&
          (params["v"] == "v1" || params["v"] == "v1beta1") && !n.table) {
        n.table = true;
        n.table_version = params["v"];
      }
      continue;
    }
    n.json = true;
  }
  return n;
}

}  // namespace distls::k8s_double
