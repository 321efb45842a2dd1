#include "distls/x509/local_ca.hpp"

#include <string>
#include <utility>


#include "cert_fields.hpp"
#include "distls/x509/csr.hpp"
#include "distls/x509/pem.hpp"
#include "distls/x509/signing_ca.hpp"

namespace distls::certs {

LocalCa::LocalCa(Options o) : o_(std::move(o)) {
  if (o_.ca_cert.empty()) throw ossl::Error("local CA: no CA certificate file given");
  if (o_.ca_key.empty()) throw ossl::Error("local CA: no CA key file given");
  if (o_.ttl.count() <= 0) throw ossl::Error("local CA: certificate lifetime must be positive");
  if (o_.common_name.empty()) throw ossl::Error("local CA: common name is empty");
  if (o_.sans.ips.empty() && o_.sans.dns.empty())
    throw ossl::Error("local CA: no IP or DNS SAN to request (peers match node names on them)");
  // A bad SAN is a configuration error: report it at startup, not at the first renewal.
  detail::san_extension(o_.sans);
}

Leaf LocalCa::issue() const {
  const SigningCa ca = SigningCa::load(o_.ca_cert, o_.ca_key);
  Leaf leaf;
  leaf.key = pem::generate_ec_p256();
  const ossl::X509Req csr = make_csr(leaf.key.get(), o_.common_name, o_.sans);
  LeafSpec spec;
  spec.common_name = o_.common_name;
  spec.sans = o_.sans;
  spec.ttl = o_.ttl;
  try {
    leaf.chain.push_back(ca.sign(csr.get(), spec));
  } catch (const ossl::Error& e) {
    throw ossl::Error("local CA " + o_.ca_cert.string() + ": " + e.what());
  }
  for (auto& c : ca.intermediates()) leaf.chain.push_back(std::move(c));
  return leaf;
}

}  // namespace distls::certs
