/* tls_load: the handshake load generator of bench/handshakes.py.
 *
 * Keeps CONCURRENCY connections in flight against one TLS server, each doing
 * exactly one full handshake (TLS 1.3, X25519, a client certificate), sending one
 * payload and reading a reply of known length, then closing with RST (SO_LINGER 0,
 * so neither side keeps TIME_WAIT sockets at thousands of connections a second) and
 * starting over. No session resumption: every connection is a fresh SSL object and
 * the client keeps no session.
 *
 * Its output, on stdout, one line each:
 *   BEGIN <unix time>          the timed window starts (after --warmup seconds)
 *   END <unix time>            it ends (after --seconds more)
 *   RESULT k=v ...             counts inside the window, and this process's own CPU
 *
 * handshakes.py reads the server's CPU time at BEGIN and END. By default the client
 * does not verify the server's chain: the server's cost is what is measured, and two
 * ECDSA verifications fewer per connection keep this client off the critical path on
 * a small machine (--verify turns it on). The server still verifies ours.
 *
 * Build: cc -O2 -o tls_load tls_load.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum state { CONNECTING, HANDSHAKE, SENDING, READING };

struct conn {
  int fd;
  SSL *ssl;
  enum state st;
  size_t sent, got;
  double started;
};

static struct {
  struct sockaddr_in server, source;
  int have_source;
  unsigned char *payload;
  size_t payload_len, expect;
  int concurrency;
  double warmup, seconds;
  SSL_CTX *ctx;
  int ep;
} cfg;

static struct {
  unsigned long completed, failed_connect, failed_handshake, failed_reply, handshakes_done;
  double latency_sum;
} win;

static int timing;  /* inside the timed window */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "tls_load: %s: %s\n", what, strerror(errno));
  ERR_print_errors_fp(stderr);
  exit(2);
}

static int parse_addr(const char *s, struct sockaddr_in *a, int need_port) {
  char host[64];
  const char *colon = strrchr(s, ':');
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  if (need_port) {
    if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
    memcpy(host, s, colon - s);
    host[colon - s] = 0;
    a->sin_port = htons((uint16_t)atoi(colon + 1));
  } else {
    if (strlen(s) >= sizeof host) return -1;
    strcpy(host, s);
  }
  return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static unsigned char *unhex(const char *s, size_t *len) {
  size_t n = strlen(s) / 2;
  unsigned char *out = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return NULL;
    out[i] = (unsigned char)v;
  }
  *len = n;
  return out;
}

static void watch(struct conn *c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(cfg.ep, op, c->fd, &ev) != 0) die("epoll_ctl");
}

static void start(struct conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) die("socket");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* Many connections share one source address: let the kernel pick ports that are
   * only unique per destination. */
  setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (cfg.have_source && bind(c->fd, (struct sockaddr *)&cfg.source, sizeof cfg.source) != 0)
    die("bind");
  c->ssl = NULL;
  c->sent = c->got = 0;
  c->started = now();
  c->st = CONNECTING;
  if (connect(c->fd, (struct sockaddr *)&cfg.server, sizeof cfg.server) != 0 && errno != EINPROGRESS)
    die("connect");
  watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void finish(struct conn *c, unsigned long *counter) {
  if (timing) {
    (*counter)++;
    if (counter == &win.completed) win.latency_sum += now() - c->started;
  }
  struct linger lg = {1, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  if (c->ssl) SSL_free(c->ssl);
  close(c->fd);  /* also drops it from the epoll set */
  start(c);
}

/* Returns the epoll events to wait for, or 0 once the connection was finished. */
static uint32_t want(struct conn *c, int r) {
  switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ: return EPOLLIN;
    case SSL_ERROR_WANT_WRITE: return EPOLLOUT;
    default:
      ERR_clear_error();
      finish(c, c->st == HANDSHAKE ? &win.failed_handshake : &win.failed_reply);
      return 0;
  }
}

static void step(struct conn *c) {
  if (c->st == CONNECTING) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) return finish(c, &win.failed_connect);
    c->ssl = SSL_new(cfg.ctx);
    if (!c->ssl) die("SSL_new");
    SSL_set_fd(c->ssl, c->fd);
    c->st = HANDSHAKE;
  }
  for (;;) {
    int r;
    uint32_t ev;
    switch (c->st) {
      case HANDSHAKE:
        r = SSL_connect(c->ssl);
        if (r != 1) {
          if ((ev = want(c, r))) watch(c, ev, EPOLL_CTL_MOD);
          return;
        }
        if (timing) win.handshakes_done++;
        c->st = SENDING;
        break;
      case SENDING:
        if (c->sent == cfg.payload_len) {
          c->st = READING;
          break;
        }
        r = SSL_write(c->ssl, cfg.payload + c->sent, (int)(cfg.payload_len - c->sent));
        if (r <= 0) {
          if ((ev = want(c, r))) watch(c, ev, EPOLL_CTL_MOD);
          return;
        }
        c->sent += (size_t)r;
        break;
      case READING: {
        if (c->got >= cfg.expect) return finish(c, &win.completed);
        unsigned char buf[4096];
        r = SSL_read(c->ssl, buf, sizeof buf);
        if (r <= 0) {
          if ((ev = want(c, r))) watch(c, ev, EPOLL_CTL_MOD);
          return;
        }
        c->got += (size_t)r;
        break;
      }
      default:
        return;
    }
  }
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void usage(void) {
  fprintf(stderr,
          "usage: tls_load --connect IP:PORT --cert F --key F [--bind IP] [--ca F --verify]\n"
          "                [--groups LIST] [--concurrency N] [--warmup S] [--seconds S]\n"
          "                [--send HEX] [--expect BYTES]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *cert = NULL, *key = NULL, *ca = NULL, *groups = "X25519", *send_hex = "";
  int verify = 0;
  cfg.concurrency = 32;
  cfg.warmup = 1;
  cfg.seconds = 5;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--verify")) { verify = 1; continue; }
    if (!v) usage();
    i++;
    if (!strcmp(a, "--connect")) { if (parse_addr(v, &cfg.server, 1)) usage(); }
    else if (!strcmp(a, "--bind")) { if (parse_addr(v, &cfg.source, 0)) usage(); cfg.have_source = 1; }
    else if (!strcmp(a, "--cert")) cert = v;
    else if (!strcmp(a, "--key")) key = v;
    else if (!strcmp(a, "--ca")) ca = v;
    else if (!strcmp(a, "--groups")) groups = v;
    else if (!strcmp(a, "--concurrency")) cfg.concurrency = atoi(v);
    else if (!strcmp(a, "--warmup")) cfg.warmup = atof(v);
    else if (!strcmp(a, "--seconds")) cfg.seconds = atof(v);
    else if (!strcmp(a, "--send")) send_hex = v;
    else if (!strcmp(a, "--expect")) cfg.expect = (size_t)atol(v);
    else usage();
  }
  if (!cert || !key || !cfg.server.sin_port || cfg.concurrency < 1 || (verify && !ca)) usage();
  if (!(cfg.payload = unhex(send_hex, &cfg.payload_len))) usage();

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  cfg.ctx = SSL_CTX_new(TLS_client_method());
  if (!cfg.ctx) die("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(cfg.ctx, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(cfg.ctx, "TLS_AES_128_GCM_SHA256");
  SSL_CTX_set_session_cache_mode(cfg.ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(cfg.ctx, SSL_OP_NO_TICKET);
  if (SSL_CTX_set1_groups_list(cfg.ctx, groups) != 1) die("groups");
  if (SSL_CTX_use_certificate_chain_file(cfg.ctx, cert) != 1) die("certificate");
  if (SSL_CTX_use_PrivateKey_file(cfg.ctx, key, SSL_FILETYPE_PEM) != 1) die("key");
  if (verify) {
    if (SSL_CTX_load_verify_locations(cfg.ctx, ca, NULL) != 1) die("CA file");
    SSL_CTX_set_verify(cfg.ctx, SSL_VERIFY_PEER, NULL);
  }

  cfg.ep = epoll_create1(EPOLL_CLOEXEC);
  if (cfg.ep < 0) die("epoll_create1");
  struct conn *conns = calloc((size_t)cfg.concurrency, sizeof *conns);
  for (int i = 0; i < cfg.concurrency; i++) start(&conns[i]);

  const double t0 = now(), begin = t0 + cfg.warmup, end = begin + cfg.seconds;
  double cpu0 = 0, t_begin = 0;
  struct epoll_event evs[256];
  for (;;) {
    const double t = now();
    if (!timing && t >= begin) {
      timing = 1;
      t_begin = t;
      cpu0 = cpu_seconds();
      printf("BEGIN %.6f\n", wall());
      fflush(stdout);
    }
    if (timing && t >= end) break;
    const double next = timing ? end : begin;
    int timeout_ms = (int)((next - t) * 1000) + 1;
    int n = epoll_wait(cfg.ep, evs, 256, timeout_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) step(evs[i].data.ptr);
  }
  const double elapsed = now() - t_begin, cpu = cpu_seconds() - cpu0;
  printf("END %.6f\n", wall());
  printf("RESULT completed=%lu handshakes=%lu failed_connect=%lu failed_handshake=%lu failed_reply=%lu "
         "elapsed=%.6f client_cpu=%.6f mean_latency_ms=%.3f concurrency=%d\n",
         win.completed, win.handshakes_done, win.failed_connect, win.failed_handshake, win.failed_reply,
         elapsed, cpu, win.completed ? 1000 * win.latency_sum / win.completed : 0.0, cfg.concurrency);
  fflush(stdout);
  return 0;
}
