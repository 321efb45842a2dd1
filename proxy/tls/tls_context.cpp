#include "distls/tls/tls_context.hpp"

#include <algorithm>

#include "distls/x509/identity.hpp"
#include "distls/tls/peer_verifier.hpp"

namespace distls {
namespace {

// Forward-secret AEAD suites only. TLS 1.3 puts AES-128-GCM first: as strong as
// needed here, and the fastest suite with AES-NI.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// With read-ahead, OpenSSL fills this buffer in one recv(): several 16 KiB records per
// syscall on a busy tunnel. SSL_MODE_RELEASE_BUFFERS hands it back whenever it is empty,
// so an idle tunnel or a stranger that has sent nothing holds none of it.
constexpr std::size_t kReadBufferLength = 64 * 1024;

// Key exchange: X25519 first, P-256 for peers without it. OpenSSL's default list also
// offers the ffdhe groups, and a client that names only ffdhe8192 costs the server
// ~10 ms of modular exponentiation per handshake, before any certificate is seen.
constexpr const char* kGroups = "X25519:P-256";

ossl::SslCtx make_ctx(const SSL_METHOD* method, const Identity& id, const TlsOptions& opts,
                      bool server) {
  ossl::SslCtx ctx{SSL_CTX_new(method)};
  if (!ctx) ossl::fail("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, opts.min_version) != 1 ||
      SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1)
    ossl::fail("setting TLS versions");
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(c, kTls13Suites) != 1)
    ossl::fail("setting cipher suites");
  // No resumption: a resumed session skips certificate verification, so it could
  // outlive a trust-bundle change; dist tunnels live for hours and gain nothing from it.
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c, 0);
  if (SSL_CTX_set1_groups_list(c, kGroups) != 1) ossl::fail("setting key exchange groups");
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_read_ahead(c, 1);
  SSL_CTX_set_default_read_buffer_len(c, kReadBufferLength);

  if (SSL_CTX_use_certificate(c, id.leaf()) != 1) ossl::fail("installing the certificate");
  for (std::size_t i = 1; i < id.chain.size(); ++i)
    if (SSL_CTX_add1_chain_cert(c, id.chain[i].get()) != 1) ossl::fail("installing the chain");
  if (SSL_CTX_use_PrivateKey(c, id.key.get()) != 1) ossl::fail("installing the private key");
  if (SSL_CTX_check_private_key(c) != 1) ossl::fail("the private key does not match the certificate");

  X509_STORE* store = SSL_CTX_get_cert_store(c);
  for (const auto& ca : id.trust)
    if (X509_STORE_add_cert(store, ca.get()) != 1) ossl::fail("adding a CA to the trust store");

  // The chain we present, built once here. Without an explicit chain OpenSSL builds one
  // for every handshake (ssl_add_cert_chain runs X509_verify_cert on our own leaf: one
  // ECDSA verification and a store walk per handshake, a tenth of a handshake's CPU).
  // The root is left out: a peer can only end its chain at a root it already trusts.
  // UNTRUSTED: intermediates from the cert source fill gaps the bundle leaves. A chain
  // that does not verify (a test's deliberately bad client) is sent as far as it was
  // built, as OpenSSL's per-handshake building would have; refusing it is the peer's job.
  if (SSL_CTX_build_cert_chain(c, SSL_BUILD_CHAIN_FLAG_UNTRUSTED | SSL_BUILD_CHAIN_FLAG_NO_ROOT |
                                      SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR) == 0)
    ossl::fail("building the certificate chain");

  // The verifying side demands the usage the other side needs: clientAuth from the
  // dialler, serverAuth from the dialled, present in the certificate (peer_verifier).
  if (SSL_CTX_set_purpose(c, server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER) != 1)
    ossl::fail("setting the certificate purpose");
  SSL_CTX_set_verify(c, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                     server ? verify_client_peer : verify_server_peer);
  // Names are matched against SANs only, exactly: no CN fallback, no wildcards.
  X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(c),
                                  X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  return ctx;
}

}  // namespace

int parse_tls_version(std::string_view v) {
  if (v == "1.2") return TLS1_2_VERSION;
  if (v == "1.3") return TLS1_3_VERSION;
  return 0;
}

std::shared_ptr<const TlsContext> TlsContext::build(const Identity& id, const TlsOptions& opts) {
  auto t = std::make_shared<TlsContext>();
  t->server_ = make_ctx(TLS_server_method(), id, opts, true);
  t->client_ = make_ctx(TLS_client_method(), id, opts, false);
  t->summary_ = {id.serial_hex(), id.subject(), name_text(X509_get_issuer_name(id.leaf())), id.not_before(),
                 id.not_after(), {}};
  std::vector<std::string> digests;
  for (const auto& ca : id.trust) {
    t->summary_.trust.push_back(name_text(X509_get_subject_name(ca.get())));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(ca.get(), EVP_sha256(), md, &len) != 1) ossl::fail("hashing a trusted CA");
    digests.emplace_back(reinterpret_cast<const char*>(md), len);
  }
  // Order and duplicates in the bundle file do not change what is trusted.
  std::sort(digests.begin(), digests.end());
  digests.erase(std::unique(digests.begin(), digests.end()), digests.end());
  for (const auto& d : digests) t->trust_fingerprint_ += d;
  return t;
}

}  // namespace distls
