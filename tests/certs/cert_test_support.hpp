// Helpers shared by the certificate tests: temporary directories and cert inspection.
#pragma once

#include <chrono>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "distls/x509/cert_builder.hpp"
#include "distls/x509/ossl.hpp"
#include "distls/x509/pem.hpp"

namespace distls::test {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    const auto base = std::filesystem::temp_directory_path();
    for (int attempt = 0; attempt < 100; ++attempt) {
      const auto p = base / ("distls-certs-test-" + std::to_string(::getpid()) + "-" +
                             std::to_string(rd()));
      if (std::filesystem::create_directory(p)) {
        path_ = p;
        return;
      }
    }
    throw std::runtime_error("cannot create a temporary directory");
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// The ossl::Error message `f` throws; a test failure when it throws nothing.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ossl::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ossl::Error, nothing was thrown";
  return {};
}

inline unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

inline std::time_t to_time_t(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) ADD_FAILURE() << "unreadable ASN1_TIME";
  return timegm(&tm);
}

// The SANs of `cert` of one GEN_* type, as text (IP addresses via inet_ntop).
inline std::vector<std::string> sans_of(X509* cert, int type) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type != type) continue;
    if (type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = g->d.iPAddress;
      char buf[INET6_ADDRSTRLEN] = {};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      inet_ntop(family, ASN1_STRING_get0_data(ip), buf, sizeof buf);
      out.emplace_back(buf);
    } else {
      const ASN1_IA5STRING* s = type == GEN_DNS ? g->d.dNSName : g->d.uniformResourceIdentifier;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

inline std::string name_entry(const X509_NAME* name, int nid) {
  const int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

// A CA: its key and self-signed cert.
struct TestCa {
  ossl::PKey key;
  ossl::X509Ptr cert;
};

inline TestCa make_ca(const std::string& cn = "test CA",
                      std::chrono::seconds ttl = std::chrono::hours(24 * 30)) {
  TestCa ca;
  ca.key = pem::generate_ec_p256();
  ca.cert = certs::make_self_signed_ca(ca.key.get(), cn, ttl);
  return ca;
}

// An intermediate CA signed by `root`: a CA cert re-issued under the root's name and key.
inline TestCa make_intermediate(const TestCa& root, const std::string& cn = "test intermediate") {
  TestCa ca = make_ca(cn);
  X509_set_issuer_name(ca.cert.get(), X509_get_subject_name(root.cert.get()));
  if (X509_sign(ca.cert.get(), root.key.get(), EVP_sha256()) <= 0)
    ADD_FAILURE() << "cannot sign the intermediate";
  return ca;
}

inline ossl::X509Ptr make_leaf(const TestCa& ca, EVP_PKEY* key,
                               const std::string& host = "10.0.0.5",
                               std::chrono::seconds ttl = std::chrono::hours(1)) {
  certs::LeafSpec spec;
  spec.common_name = "app@" + host;
  spec.sans = certs::sans_for_host(host);
  spec.ttl = ttl;
  return certs::sign_leaf(spec, key, ca.cert.get(), ca.key.get());
}

}  // namespace distls::test
