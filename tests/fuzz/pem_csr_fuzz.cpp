// Certificates, private keys and CSRs as distls reads them: PEM files (--cert, --key,
// --trust-bundle, the CA), the CSR a signer receives, and what a peer's certificate is
// checked for. The input is read as PEM by every reader, and also as one DER object
// (certificate, key, CSR) so that mutations reach the ASN.1 inside without having to
// keep base64 intact; a DER CSR is re-signed so that it gets past the self-signature
// check into inspect_csr and sign_csr.
//
// ossl::Error is the expected answer to bad input. Anything else escaping (another
// exception, a crash, a leak, undefined behaviour) is a finding.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "distls/x509/cert_builder.hpp"
#include "distls/x509/csr.hpp"
#include "distls/x509/identity.hpp"
#include "distls/util/node_name.hpp"
#include "distls/x509/ossl.hpp"
#include "distls/x509/pem.hpp"
#include "distls/tls/peer_verifier.hpp"

namespace {

using namespace distls;

void require(bool ok) {
  if (!ok) std::abort();
}

// Built once: a CA to sign granted CSRs with, and the key re-signed CSRs carry.
struct Fixture {
  ossl::PKey ca_key = pem::generate_ec_p256();
  ossl::X509Ptr ca = certs::make_self_signed_ca(ca_key.get(), "fuzz CA", std::chrono::hours(24));
  ossl::PKey requester = pem::generate_ec_p256();
};
const Fixture& fixture() {
  static const Fixture f;  // fuzz-target state, never changed after construction
  return f;
}

ossl::PKey requester_key() {
  EVP_PKEY* k = fixture().requester.get();
  EVP_PKEY_up_ref(k);
  return ossl::PKey(k);
}

template <class F>
void expect_ossl_error_only(F&& f) {
  try {
    f();
  } catch (const ossl::Error&) {
  }
}

// What the proxy asks of a peer's certificate, and what `distls proxy` shows of its own.
void check_cert(X509* cert) {
  for (const char* name : {"app@10.0.0.5", "app@[::1]", "app@app-0.app.shop.svc.cluster.local"})
    cert_matches_host(cert, *parse_node_name(name));
  cert_allowed(cert, {"spiffe://cluster.local/ns/shop/sa/app", "spiffe://cluster.local/ns/*"});
  serial_hex(cert);
  // A certificate written back reads back as one equal certificate.
  const auto again = pem::read_certs(pem::cert_to_pem(cert));
  require(again.size() == 1 && X509_cmp(again.front().get(), cert) == 0);
}

void check_identity(std::vector<ossl::X509Ptr> chain, ossl::PKey key) {
  Identity id;
  id.trust.push_back(ossl::X509Ptr(X509_dup(chain.back().get())));
  id.chain = std::move(chain);
  id.key = std::move(key);
  expect_ossl_error_only([&] { id.subject(); });
  expect_ossl_error_only([&] { id.not_before(); });
  expect_ossl_error_only([&] { id.not_after(); });
  expect_ossl_error_only([&] { id.validate(); });
}

void check_key(EVP_PKEY* key) {
  // A key written back reads back as the same key.
  const auto again = pem::read_private_key(pem::private_key_to_pem(key));
  const int eq = EVP_PKEY_eq(again.get(), key);
  require(eq == 1 || eq == -2);  // -2: the key type cannot be compared
}

// What a signer does with a request whose self-signature verified.
void check_csr(X509_REQ* req) {
  const certs::CsrInfo info = certs::inspect_csr(req);
  for (const auto& ip : info.sans.ips) {
    unsigned char buf[16];
    require(inet_pton(ip.find(':') == std::string::npos ? AF_INET : AF_INET6, ip.c_str(), buf) == 1);
  }
  for (const auto& dns : info.sans.dns)
    for (char c : dns) require(c < 'A' || c > 'Z');
  certs::csr_public_key(req);
  certs::LeafSpec spec;
  spec.common_name = info.common_name;
  spec.sans = info.sans;
  spec.ttl = std::chrono::hours(1);
  const auto& f = fixture();
  const auto leaf = certs::sign_csr(req, spec, f.ca.get(), f.ca_key.get());
  require(X509_verify(leaf.get(), f.ca_key.get()) == 1);
}

void fuzz_pem(std::string_view text) {
  std::vector<ossl::X509Ptr> certs;
  ossl::PKey key;
  expect_ossl_error_only([&] { certs = pem::read_certs(text); });
  expect_ossl_error_only([&] { key = pem::read_private_key(text); });
  for (const auto& c : certs) expect_ossl_error_only([&] { check_cert(c.get()); });
  if (key) expect_ossl_error_only([&] { check_key(key.get()); });
  if (!certs.empty() && key) check_identity(std::move(certs), std::move(key));
  expect_ossl_error_only([&] {
    const auto req = certs::read_csr(text);
    check_csr(req.get());
  });
}

void fuzz_der(const std::uint8_t* data, std::size_t size) {
  const long len = static_cast<long>(size);
  const unsigned char* p = data;
  if (ossl::X509Ptr cert{d2i_X509(nullptr, &p, len)}) {
    expect_ossl_error_only([&] { check_cert(cert.get()); });
    std::vector<ossl::X509Ptr> chain;
    chain.push_back(std::move(cert));
    check_identity(std::move(chain), requester_key());
  }
  p = data;
  if (ossl::PKey key{d2i_AutoPrivateKey(nullptr, &p, len)}) expect_ossl_error_only([&] { check_key(key.get()); });
  p = data;
  if (ossl::X509Req req{d2i_X509_REQ(nullptr, &p, len)}) {
    // inspect_csr is documented to cope with any CSR, signed or not.
    expect_ossl_error_only([&] { certs::inspect_csr(req.get()); });
    const auto& f = fixture();
    if (X509_REQ_set_pubkey(req.get(), f.requester.get()) == 1 &&
        X509_REQ_sign(req.get(), f.requester.get(), EVP_sha256()) > 0) {
      expect_ossl_error_only([&] {
        const auto again = certs::read_csr(certs::csr_to_pem(req.get()));
        check_csr(again.get());
      });
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_pem(std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz_der(data, size);
  return 0;
}
