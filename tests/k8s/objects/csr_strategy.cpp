#include "tests/k8s/objects/csr_strategy.hpp"

#include <cctype>
#include <cstdio>
#include <set>

#include <openssl/pem.h>
#include <boost/json/array.hpp>

#include "distls/x509/ossl.hpp"
#include "tests/k8s/encoding/base64.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

namespace {

using FT = FieldError::Type;

// The first PEM block's type, as Go's pem.Decode finds it ("" when there is none).
std::string first_pem_type(std::string_view pem, std::size_t& begin) {
  begin = pem.find("-----BEGIN ");
  if (begin == std::string_view::npos) return {};
  const auto start = begin + 11;
  const auto end = pem.find("-----", start);
  if (end == std::string_view::npos) return {};
  return std::string(pem.substr(start, end - start));
}

ossl::Bio memory_bio(std::string_view data) {
  ossl::Bio bio{BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))};
  if (!bio) ossl::fail("allocating a memory BIO");
  return bio;
}

std::string render_bytes(std::string_view b) {
  // Go's %#v of a []byte; long requests are shortened, the message stays readable.
  std::string s = "[]byte{";
  for (std::size_t i = 0; i < b.size() && i < 16; ++i) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%s0x%x", i ? ", " : "", static_cast<unsigned char>(b[i]));
    s += hex;
  }
  if (b.size() > 16) s += ", ...";
  return s + "}";
}

bool is_dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '-'))
      return false;
  return s.front() != '-' && s.back() != '-';
}

const char* kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const char* kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

const std::set<std::string>& valid_usages() {
  static const std::set<std::string> usages = {"signing",
                                               "digital signature",
                                               "content commitment",
                                               "key encipherment",
                                               "key agreement",
                                               "data encipherment",
                                               "cert sign",
                                               "crl sign",
                                               "encipher only",
                                               "decipher only",
                                               "any",
                                               "server auth",
                                               "client auth",
                                               "code signing",
                                               "email protection",
                                               "s/mime",
                                               "ipsec end system",
                                               "ipsec tunnel",
                                               "ipsec user",
                                               "timestamping",
                                               "ocsp signing",
                                               "microsoft sgc",
                                               "netscape sgc"};
  return usages;
}

std::string supported_list(const std::set<std::string>& values) {
  std::string s = "supported values: ";
  bool first = true;
  for (const auto& v : values) {
    s += (first ? "" : ", ") + go_quote(v);
    first = false;
  }
  return s;
}

json::object& child(json::object& o, const char* key) {
  auto& v = o[key];
  if (!v.is_object()) v = json::object{};
  return v.get_object();
}

json::array conditions_of(const json::object& csr) {
  if (const auto* status = object_at(csr, {"status"})) {
    const auto it = status->find("conditions");
    if (it != status->end() && it->value().is_array()) return it->value().get_array();
  }
  return {};
}

std::string cond_field(const json::value& c, const char* key) {
  return c.is_object() ? string_at(c.get_object(), {key}) : std::string();
}

std::vector<json::value> find_conditions(const json::array& conds, const std::string& type) {
  std::vector<json::value> out;
  for (const auto& c : conds)
    if (cond_field(c, "type") == type) out.push_back(c);
  return out;
}

std::string decoded_certificate(const json::object& csr) {
  const auto b64 = string_at(csr, {"status", "certificate"});
  return base64_decode(b64).value_or(std::string());
}

struct Options {
  bool allow_setting_approval = false;
  bool allow_setting_certificate = false;
  bool allow_arbitrary_certificate = false;
};

void validate_conditions(const json::array& conds, std::vector<FieldError>& errs) {
  static const std::set<std::string> true_only = {"True"};
  static const std::set<std::string> all_status = {"False", "True", "Unknown"};
  std::set<std::string> seen;
  bool approved = false, denied = false;
  for (std::size_t i = 0; i < conds.size(); ++i) {
    const std::string at = "status.conditions[" + std::to_string(i) + "]";
    const std::string type = cond_field(conds[i], "type");
    const std::string status = cond_field(conds[i], "status");
    if (type.empty()) errs.push_back({FT::required, at + ".type", "", ""});
    const auto& allowed =
        (type == "Approved" || type == "Denied" || type == "Failed") ? true_only : all_status;
    if (status.empty())
      errs.push_back({FT::required, at + ".status", "", ""});
    else if (!allowed.contains(status))
      errs.push_back({FT::not_supported, at + ".status", go_quote(status), supported_list(allowed)});
    if (type == "Approved") {
      approved = true;
      if (denied)
        errs.push_back({FT::invalid, "status.conditions", go_quote(type),
                        "Approved and Denied conditions are mutually exclusive"});
    } else if (type == "Denied") {
      denied = true;
      if (approved)
        errs.push_back({FT::invalid, "status.conditions", go_quote(type),
                        "Approved and Denied conditions are mutually exclusive"});
    }
    if (!seen.insert(type).second) errs.push_back({FT::duplicate, at + ".type", go_quote(type), ""});
  }
}

// validateCertificateSigningRequest.
std::vector<FieldError> validate(const json::object& csr, const Options& opts) {
  std::vector<FieldError> errs;
  const std::string request = base64_decode(string_at(csr, {"spec", "request"})).value_or(std::string());
  if (auto why = csr_request_problem(request))
    errs.push_back({FT::invalid, "spec.request", render_bytes(request), *why});

  json::array usages;
  if (const auto* spec = object_at(csr, {"spec"}))
    if (const auto it = spec->find("usages"); it != spec->end() && it->value().is_array())
      usages = it->value().get_array();
  if (usages.empty()) errs.push_back({FT::required, "spec.usages", "", ""});
  std::set<std::string> seen;
  for (std::size_t i = 0; i < usages.size(); ++i) {
    const std::string u = usages[i].is_string() ? std::string(usages[i].get_string()) : "";
    const std::string at = "spec.usages[" + std::to_string(i) + "]";
    if (!valid_usages().contains(u))
      errs.push_back({FT::not_supported, at, go_quote(u), supported_list(valid_usages())});
  }
  for (std::size_t i = 0; i < usages.size(); ++i) {
    const std::string u = usages[i].is_string() ? std::string(usages[i].get_string()) : "";
    if (!seen.insert(u).second)
      errs.push_back({FT::duplicate, "spec.usages[" + std::to_string(i) + "]", go_quote(u), ""});
  }

  const std::string signer = string_at(csr, {"spec", "signerName"});
  if (signer == "kubernetes.io/legacy-unknown") {
    errs.push_back({FT::invalid, "spec.signerName", go_quote(signer),
                    "the legacy signerName is not allowed via this API version"});
  } else {
    for (auto& e : validate_signer_name("spec.signerName", signer)) errs.push_back(std::move(e));
  }

  if (const auto* spec = object_at(csr, {"spec"})) {
    const auto it = spec->find("expirationSeconds");
    if (it != spec->end() && it->value().is_number()) {
      const auto secs = it->value().to_number<long long>();
      if (secs < 600)
        errs.push_back({FT::invalid, "spec.expirationSeconds", std::to_string(secs),
                        "may not specify a duration less than 600 seconds (10 minutes)"});
    }
  }

  validate_conditions(conditions_of(csr), errs);

  if (!opts.allow_arbitrary_certificate)
    if (auto why = certificate_problem(decoded_certificate(csr)))
      errs.push_back({FT::invalid, "status.certificate", go_quote("<certificate data>"), *why});
  return errs;
}

// validateCertificateSigningRequestUpdate, beyond validate().
void validate_update(const json::object& next, const json::object& old, const Options& opts,
                     std::vector<FieldError>& errs) {
  const json::array nc = conditions_of(next), oc = conditions_of(old);
  for (const char* t : {"Approved", "Denied", "Failed"})
    if (find_conditions(nc, t).size() < find_conditions(oc, t).size())
      errs.push_back({FT::forbidden, "status.conditions", "",
                      std::string("updates may not remove a condition of type ") + go_quote(t)});
  if (!opts.allow_setting_approval) {
    for (const char* t : {"Approved", "Denied"}) {
      const auto n = find_conditions(nc, t), o = find_conditions(oc, t);
      if (n.size() > o.size())
        errs.push_back({FT::forbidden, "status.conditions", "",
                        std::string("updates may not add a condition of type ") + go_quote(t)});
      else if (n.size() == o.size() && n != o)
        errs.push_back({FT::forbidden, "status.conditions", "",
                        std::string("updates may not modify a condition of type ") + go_quote(t)});
    }
  }
  const std::string new_cert = string_at(next, {"status", "certificate"});
  const std::string old_cert = string_at(old, {"status", "certificate"});
  if (new_cert != old_cert) {
    if (!opts.allow_setting_certificate)
      errs.push_back({FT::forbidden, "status.certificate", "", "updates may not set certificate content"});
    else if (!old_cert.empty())
      errs.push_back(
          {FT::forbidden, "status.certificate", "", "updates may not modify existing certificate content"});
  }
}

// populateConditionTimestamps.
void populate_condition_timestamps(json::object& next, const json::object& old, const std::string& now) {
  auto& status = child(next, "status");
  auto it = status.find("conditions");
  if (it == status.end() || !it->value().is_array()) return;
  const json::array oc = conditions_of(old);
  for (auto& c : it->value().get_array()) {
    if (!c.is_object()) continue;
    auto& co = c.get_object();
    if (string_at(co, {"lastUpdateTime"}).empty()) co["lastUpdateTime"] = now;
    if (string_at(co, {"lastTransitionTime"}).empty()) {
      std::string transition = now;
      for (const auto& o : oc)
        if (cond_field(o, "type") == cond_field(c, "type") &&
            cond_field(o, "status") == cond_field(c, "status") &&
            !cond_field(o, "lastTransitionTime").empty()) {
          transition = cond_field(o, "lastTransitionTime");
          break;
        }
      co["lastTransitionTime"] = transition;
    }
  }
}

// preserveConditionInstances: the old values of `type` replace the new ones when the count
// is unchanged; otherwise validation reports the addition or removal.
void preserve_condition_instances(json::object& next, const json::object& old, const std::string& type) {
  auto& status = child(next, "status");
  auto it = status.find("conditions");
  if (it == status.end() || !it->value().is_array()) return;
  auto& nc = it->value().get_array();
  const auto oc = find_conditions(conditions_of(old), type);
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < nc.size(); ++i)
    if (cond_field(nc[i], "type") == type) idx.push_back(i);
  if (idx.size() != oc.size()) return;
  for (std::size_t i = 0; i < idx.size(); ++i) nc[idx[i]] = oc[i];
}

// Field order and omitempty as the Go types marshal them.
json::object canonical(const json::object& in) {
  json::object out;
  out["apiVersion"] = "certificates.k8s.io/v1";
  out["kind"] = "CertificateSigningRequest";
  out["metadata"] = object_at(in, {"metadata"}) ? *object_at(in, {"metadata"}) : json::object{};
  out["spec"] = object_at(in, {"spec"}) ? *object_at(in, {"spec"}) : json::object{};
  json::object status = object_at(in, {"status"}) ? *object_at(in, {"status"}) : json::object{};
  if (auto it = status.find("conditions");
      it != status.end() && it->value().is_array() && it->value().get_array().empty())
    status.erase(it);
  if (auto it = status.find("certificate");
      it != status.end() && it->value().is_string() && it->value().get_string().empty())
    status.erase(it);
  out["status"] = std::move(status);
  return out;
}

ApiError invalid_csr(const std::string& name, const std::vector<FieldError>& errs) {
  return invalid("CertificateSigningRequest.certificates.k8s.io", name, errs);
}

}  // namespace

std::optional<std::string> csr_request_problem(std::string_view pem) {
  static const std::string kNotCsr = "PEM block type must be CERTIFICATE REQUEST";
  std::size_t begin = 0;
  if (first_pem_type(pem, begin) != "CERTIFICATE REQUEST") return kNotCsr;
  auto bio = memory_bio(pem.substr(begin));
  ossl::X509Req req{PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr)};
  if (!req) {
    ossl::drain_errors();
    return "x509: malformed certificate request";
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr || X509_REQ_verify(req.get(), key) != 1) {
    ossl::drain_errors();
    // crypto/x509's wording for the key types a CSR is likely to use.
    if (key != nullptr && EVP_PKEY_base_id(key) == EVP_PKEY_EC) return "x509: ECDSA verification failure";
    if (key != nullptr && EVP_PKEY_base_id(key) == EVP_PKEY_RSA) return "crypto/rsa: verification error";
    return "x509: signature verification failure";
  }
  return std::nullopt;
}

std::optional<std::string> certificate_problem(std::string_view pem) {
  if (pem.empty()) return std::nullopt;
  auto bio = memory_bio(pem);
  int blocks = 0;
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      ossl::drain_errors();
      break;
    }
    const std::string type = name;
    const bool has_headers = header != nullptr && *header != '\0';
    const unsigned char* p = data;
    ossl::X509Ptr cert{type == "CERTIFICATE" && !has_headers ? d2i_X509(nullptr, &p, len) : nullptr};
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (type != "CERTIFICATE") return "only CERTIFICATE PEM blocks are allowed, found " + go_quote(type);
    if (has_headers) return "no PEM block headers are permitted";
    if (!cert) {
      ossl::drain_errors();
      return "x509: malformed certificate";
    }
    ++blocks;
  }
  if (blocks == 0) return "must contain at least one CERTIFICATE PEM block";
  return std::nullopt;
}

std::vector<FieldError> validate_signer_name(const std::string& field, const std::string& signer) {
  std::vector<FieldError> errs;
  if (signer.empty()) return {{FT::required, field, "", ""}};
  const auto segments = split(signer, '/');
  if (segments.size() != 2)
    return {{FT::invalid, field, go_quote(signer),
             "must be a fully qualified domain and path of the form 'example.com/signer-name'"}};
  const std::string domain(segments[0]), path(segments[1]);
  if (domain.size() > 253) errs.push_back({FT::too_long, field, "", "may not be more than 253 bytes"});
  const auto labels = split(domain, '.');
  for (auto l : labels)
    if (!is_dns1123_label(l)) {
      errs.push_back({FT::invalid, field, go_quote(domain),
                      "validating label " + go_quote(l) + ": " +
                          (l.size() > 63 ? "must be no more than 63 characters" : kLabelMsg)});
      break;
    }
  if (labels.size() < 2)
    errs.push_back({FT::invalid, field, go_quote(domain),
                    "should be a domain with at least two segments separated by dots"});
  for (auto l : split(path, '.'))
    if (!is_dns1123_label(l) || l.size() > 253) {
      errs.push_back(
          {FT::invalid, field, go_quote(path), "validating label " + go_quote(l) + ": " + kSubdomainMsg});
      break;
    }
  if (signer.size() > 253 + 253 + 63 + 1 + 1)
    errs.push_back({FT::too_long, field, "", "may not be more than 571 bytes"});
  return errs;
}

Expected<json::object> csr_for_create(json::object in, const UserInfo& user, IdSource& ids,
                                      Clock::time_point now) {
  json::object& meta = child(in, "metadata");
  if (!string_at(meta, {"resourceVersion"}).empty())
    return bad_request("resourceVersion should not be set on objects to be created");
  std::string name = string_at(meta, {"name"});
  const std::string generate = string_at(meta, {"generateName"});
  if (name.empty() && generate.empty())
    return invalid_csr("", {{FT::required, "metadata.name", "", "name or generateName is required"}});
  if (name.empty()) name = generate + ids.name_suffix();
  meta["name"] = name;
  meta.erase("namespace");  // cluster-scoped: BeforeCreate clears it
  meta.erase("selfLink");
  meta.erase("managedFields");
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  meta["uid"] = ids.uid();
  meta["creationTimestamp"] = format_time(now);

  json::object& spec = child(in, "spec");
  spec["username"] = user.name;
  if (user.uid.empty())
    spec.erase("uid");
  else
    spec["uid"] = user.uid;
  if (user.groups.empty()) {
    spec.erase("groups");
  } else {
    json::array g;
    for (const auto& s : user.groups) g.push_back(json::value(s));
    spec["groups"] = std::move(g);
  }
  if (user.extra.empty()) {
    spec.erase("extra");
  } else {
    json::object extra;
    for (const auto& [k, vs] : user.extra) {
      json::array a;
      for (const auto& v : vs) a.push_back(json::value(v));
      extra[k] = std::move(a);
    }
    spec["extra"] = std::move(extra);
  }
  in["status"] = json::object{};  // no pre-approved requests

  json::object out = canonical(in);
  if (auto errs = validate(out, Options{}); !errs.empty()) return invalid_csr(name, errs);
  return out;
}

Expected<json::object> csr_for_update(CsrUpdate which, json::object next, const json::object& old,
                                      Clock::time_point now) {
  const std::string now_text = format_time(now);
  // BeforeUpdate: system fields come from storage whatever the client sent.
  json::object& meta = child(next, "metadata");
  const json::object old_meta = object_at(old, {"metadata"}) ? *object_at(old, {"metadata"}) : json::object{};
  for (const char* k : {"name", "uid", "creationTimestamp", "generation", "deletionTimestamp",
                        "deletionGracePeriodSeconds"}) {
    if (auto it = old_meta.find(k); it != old_meta.end())
      meta[k] = it->value();
    else
      meta.erase(k);
  }
  meta.erase("namespace");
  meta.erase("selfLink");
  meta.erase("managedFields");

  const json::object old_spec = object_at(old, {"spec"}) ? *object_at(old, {"spec"}) : json::object{};
  const json::object old_status = object_at(old, {"status"}) ? *object_at(old, {"status"}) : json::object{};
  Options opts;
  switch (which) {
    case CsrUpdate::object:
      next["spec"] = old_spec;
      next["status"] = old_status;
      break;
    case CsrUpdate::approval: {
      populate_condition_timestamps(next, old, now_text);
      const json::array conds = conditions_of(next);
      next["spec"] = old_spec;
      json::object status = old_status;
      status["conditions"] = conds;
      next["status"] = std::move(status);
      opts.allow_setting_approval = true;
      break;
    }
    case CsrUpdate::status:
      next["spec"] = old_spec;
      child(next, "status");
      preserve_condition_instances(next, old, "Approved");
      preserve_condition_instances(next, old, "Denied");
      populate_condition_timestamps(next, old, now_text);
      opts.allow_setting_certificate = true;
      break;
  }
  json::object out = canonical(next);
  // Tolerate updates that do not touch status.certificate (allowArbitraryCertificate).
  opts.allow_arbitrary_certificate =
      string_at(out, {"status", "certificate"}) == string_at(old, {"status", "certificate"});
  std::vector<FieldError> errs = validate(out, opts);
  validate_update(out, old, opts, errs);
  if (!errs.empty()) return invalid_csr(name_of(old), errs);
  return out;
}

}  // namespace distls::k8s_double
