/* CPU cost of a recv() that finds nothing: what Asio's speculative read costs before
 * each wait on the round-trip path (docs/benchmarks.md, "Round trip").
 *
 *   cc -O2 bench/recv_eagain.c -o /tmp/recv_eagain && /tmp/recv_eagain
 *
 * A connected loopback TCP pair; one million recv() calls on the empty, non-blocking
 * end, timed with the process's CPU clock. */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  struct sockaddr_in at = {0};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  int listener = socket(AF_INET, SOCK_STREAM, 0), client = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0 || client < 0 || bind(listener, (struct sockaddr*)&at, sizeof at) != 0 ||
      listen(listener, 1) != 0 || getsockname(listener, (struct sockaddr*)&at, &len) != 0 ||
      connect(client, (struct sockaddr*)&at, sizeof at) != 0) {
    perror("loopback pair");
    return 1;
  }
  int server = accept(listener, NULL, NULL);
  if (server < 0 || fcntl(server, F_SETFL, O_NONBLOCK) != 0) {
    perror("accept");
    return 1;
  }
  enum { calls = 1000000 };
  char buf[2048];
  struct timespec t0, t1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  for (int i = 0; i < calls; ++i)
    if (recv(server, buf, sizeof buf, 0) >= 0) {
      fprintf(stderr, "recv found data: not an empty socket\n");
      return 1;
    }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  const double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
  printf("%.3f µs of CPU per recv() that returns EAGAIN (%d calls)\n", ns / calls / 1000.0, calls);
  close(server);
  close(client);
  close(listener);
  return 0;
}
