/* tls_inproc: what OpenSSL alone costs a TLS server per mutual handshake, with no
 * sockets, no event loop and no proxy around it: N full TLS 1.3 handshakes between a
 * server and a client in one process over a memory BIO pair, the server's calls timed
 * with the thread's CPU clock (SSL_new, every SSL_do_handshake step, SSL_free).
 *
 *   tls_inproc SERVER_DIR CLIENT_DIR N CHAIN GROUPS
 *     *_DIR   tls.crt, tls.key, ca.crt (as `distls ca issue` writes them)
 *     CHAIN   "built": each side's chain built once (SSL_CTX_build_cert_chain, no root),
 *             as distls's TlsContext does; "stock": OpenSSL's default, a chain built and
 *             verified for every handshake, root included, as s_server and any program
 *             that only loads a CA file do
 *     GROUPS  the client's key exchange groups ("X25519", "P-256")
 *
 * Prints one line: RESULT ok=<handshakes that completed> server_us=<server CPU µs per
 * handshake>. bench/handshakes.py --inproc runs it; it is the floor under any server
 * built on this OpenSSL: what neither distls nor s_server can go below.
 *
 * Build: cc -O2 -o tls_inproc tls_inproc.c -lssl -lcrypto
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double thread_cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static SSL_CTX *context(int server, const char *dir, int built, const char *groups) {
  char path[4096];
  SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!c) return NULL;
  SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(c, 0);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set1_groups_list(c, groups) != 1) return NULL;
  snprintf(path, sizeof path, "%s/tls.crt", dir);
  if (SSL_CTX_use_certificate_file(c, path, SSL_FILETYPE_PEM) != 1) return NULL;
  snprintf(path, sizeof path, "%s/tls.key", dir);
  if (SSL_CTX_use_PrivateKey_file(c, path, SSL_FILETYPE_PEM) != 1) return NULL;
  snprintf(path, sizeof path, "%s/ca.crt", dir);
  if (SSL_CTX_load_verify_locations(c, path, NULL) != 1) return NULL;
  SSL_CTX_set_verify(c, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, NULL);
  if (built && SSL_CTX_build_cert_chain(c, SSL_BUILD_CHAIN_FLAG_NO_ROOT) != 1) return NULL;
  return c;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: tls_inproc SERVER_DIR CLIENT_DIR N built|stock GROUPS\n");
    return 2;
  }
  const int n = atoi(argv[3]), built = !strcmp(argv[4], "built");
  SSL_CTX *sctx = context(1, argv[1], built, "X25519:P-256"), *cctx = context(0, argv[2], built, argv[5]);
  if (!sctx || !cctx || n < 1) {
    ERR_print_errors_fp(stderr);
    return 2;
  }
  double server_cpu = 0;
  int ok = 0;
  for (int i = 0; i < n; i++) {
    double t = thread_cpu();
    SSL *s = SSL_new(sctx);
    server_cpu += thread_cpu() - t;
    SSL *c = SSL_new(cctx);
    BIO *sb, *cb;
    if (!s || !c || BIO_new_bio_pair(&sb, 0, &cb, 0) != 1) return 2;
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    int s_done = 0, c_done = 0, failed = 0;
    for (int round = 0; round < 20 && !(s_done && c_done) && !failed; round++) {
      if (!c_done) {
        int r = SSL_do_handshake(c);
        if (r == 1) c_done = 1;
        else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ) failed = 1;
      }
      if (!s_done && !failed) {
        t = thread_cpu();
        int r = SSL_do_handshake(s);
        server_cpu += thread_cpu() - t;
        if (r == 1) s_done = 1;
        else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ) failed = 1;
      }
    }
    ok += s_done && c_done && !failed;
    ERR_clear_error();
    t = thread_cpu();
    SSL_free(s);
    server_cpu += thread_cpu() - t;
    SSL_free(c);
  }
  printf("RESULT ok=%d server_us=%.1f\n", ok, 1e6 * server_cpu / n);
  return ok == n ? 0 : 1;
}
