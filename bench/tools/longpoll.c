// longpoll: parks N HTTP long-polls on one URL and times their answers.
//
//   longpoll HOST PORT[,PORT...] PATH INDEX N READY_FILE [EXPECT]
//
// Opens N connections to HOST:PORT (with several ports, connection i goes to
// the (i mod count)-th: one daemon each, as bench/scale parks one poll on
// every candidate), sends "GET PATH&index=INDEX" on each
// (PATH carries ?wait=..), then writes "parked <ns>\n" to READY_FILE once
// every request is sent and no answer has come for 500 ms. It then waits (up
// to 120 s) until every connection has its answer, and prints one line per
// connection: "<status> <CLOCK_MONOTONIC ns of the answer> <polls>", or
// "none 0 <polls>" for one that never got it.
//
// Without EXPECT, a connection's answer is the first complete response.
// With EXPECT, it is the first response whose body contains EXPECT (the new
// leader's id): a response without it is what a real client re-polls on, so
// this does the same, at once, with the index that response carried (at most
// 20 polls per connection). The daemon's index counts every change of its
// view, so a /leader long-poll may be answered for a change that is not a new
// leader.
//
// An answer's time is when its last bytes reached the socket (the kernel's
// receive timestamp, SO_TIMESTAMPNS), not when this process got to read it:
// on the daemon's two cores this client competes with a thousand woken
// server threads and may run only once most answers are in. One epoll
// thread; and a connection that has its answer is closed only once every
// waiter has one (the server closes its end at once), so that the client's
// own TCP teardown does not take the two cores from the answers still to
// come.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxPolls = 20, kBufferBytes = 4096 };

struct conn {
  int fd;
  unsigned short port;  // network byte order
  int status;
  int polls;
  long long answered;
  char buf[kBufferBytes];
  size_t len;
};

static long long clock_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

// CLOCK_REALTIME minus CLOCK_MONOTONIC: receive timestamps are on the first.
static long long realtime_offset;

// Reads into c->buf; *stamp becomes the receive time of the bytes read (on
// CLOCK_MONOTONIC), or `fallback` without one.
static ssize_t read_stamped(struct conn* c, long long fallback, long long* stamp) {
  struct iovec iov = {c->buf + c->len, sizeof c->buf - 1 - c->len};
  char control[CMSG_SPACE(sizeof(struct timespec))];
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
  const ssize_t r = recvmsg(c->fd, &msg, 0);
  *stamp = fallback;
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); r > 0 && cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts;
      memcpy(&ts, CMSG_DATA(cm), sizeof ts);
      *stamp = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - realtime_offset;
    }
  }
  return r;
}

static struct sockaddr_in addr;
static const char* host;
static const char* path;
static int ep;

// Connects and sends one long-poll from `index`; returns 0 on success.
static int poll_from(struct conn* c, unsigned index, unsigned long long from) {
  char request[1024];
  const int len = snprintf(request, sizeof request,
                           "GET %s&index=%llu HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                           path, from, host);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  addr.sin_port = c->port;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0 ||
      write(fd, request, (size_t)len) != len) {
    fprintf(stderr, "longpoll: connection %u (port %u): %s\n", index, ntohs(c->port),
            strerror(errno));
    close(fd);
    return -1;
  }
  c->fd = fd;
  c->len = 0;
  c->polls++;
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = index};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

// The response in c->buf is whole: its head and Content-Length bytes of body,
// or the connection ended.
static int complete(const struct conn* c, int ended) {
  const char* end = strstr(c->buf, "\r\n\r\n");
  if (end == NULL) return ended || c->len == sizeof c->buf - 1;
  const char* length = strcasestr(c->buf, "\r\nContent-Length:");
  if (ended || length == NULL || length > end) return 1;
  return c->len >= (size_t)(end + 4 - c->buf) + strtoul(length + 17, NULL, 10);
}

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    fprintf(stderr, "usage: longpoll HOST PORT[,PORT...] PATH INDEX N READY_FILE [EXPECT]\n");
    return 2;
  }
  host = argv[1];
  path = argv[3];
  const unsigned long long first_index = strtoull(argv[4], NULL, 10);
  const int n = atoi(argv[5]);
  const char* ready_file = argv[6];
  const char* expect = argc == 8 ? argv[7] : NULL;
  struct rlimit rl = {(rlim_t)n + 64, (rlim_t)n + 64};
  setrlimit(RLIMIT_NOFILE, &rl);
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, host, &addr.sin_addr);
  struct conn* conns = calloc((size_t)n, sizeof *conns);
  size_t port_count = 1;
  for (const char* p = argv[2]; *p != '\0'; ++p) port_count += *p == ',';
  unsigned short* ports = calloc(port_count, sizeof *ports);
  char* next_port = argv[2];
  for (size_t i = 0; i < port_count; ++i) {
    ports[i] = htons((unsigned short)strtoul(next_port, &next_port, 10));
    next_port += *next_port == ',';
  }
  for (int i = 0; i < n; ++i) conns[i].port = ports[(size_t)i % port_count];
  realtime_offset = clock_ns(CLOCK_REALTIME) - now_ns();
  ep = epoll_create1(0);
  for (int i = 0; i < n; ++i) {
    if (poll_from(&conns[i], (unsigned)i, first_index) != 0) return 1;
  }
  int done = 0;
  int parked_written = 0;
  const long long give_up = now_ns() + 120LL * 1000000000LL;
  struct epoll_event events[256];
  while (done < n && now_ns() < give_up) {
    int k = epoll_wait(ep, events, 256, parked_written ? 1000 : 500);
    if (k == 0 && !parked_written) {
      FILE* f = fopen(ready_file, "w");
      if (f != NULL) {
        fprintf(f, "parked %lld\n", now_ns());
        fclose(f);
      }
      parked_written = 1;
      continue;
    }
    const long long t = now_ns();
    for (int j = 0; j < k; ++j) {
      const unsigned index = events[j].data.u32;
      struct conn* c = &conns[index];
      long long stamp = 0;
      const ssize_t r = read_stamped(c, t, &stamp);
      if (r > 0) c->len += (size_t)r;
      c->buf[c->len] = '\0';
      if (!complete(c, r <= 0)) continue;
      epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      c->status = 0;
      sscanf(c->buf, "HTTP/1.%*d %d", &c->status);
      const char* body = strstr(c->buf, "\r\n\r\n");
      const char* next = strcasestr(c->buf, "\r\nX-Zkelect-Index:");
      if (expect != NULL && (body == NULL || strstr(body, expect) == NULL) && next != NULL &&
          c->polls < kMaxPolls) {
        close(c->fd);
        if (poll_from(c, index, strtoull(next + 18, NULL, 10)) == 0) continue;
        c->fd = -1;
      }
      if (expect == NULL || (body != NULL && strstr(body, expect) != NULL)) c->answered = stamp;
      ++done;
    }
  }
  for (int i = 0; i < n; ++i) {
    if (conns[i].fd >= 0) close(conns[i].fd);
  }
  for (int i = 0; i < n; ++i) {
    if (conns[i].answered) {
      printf("%d %lld %d\n", conns[i].status, conns[i].answered, conns[i].polls);
    } else {
      printf("none 0 %d\n", conns[i].polls);
    }
  }
  return 0;
}
