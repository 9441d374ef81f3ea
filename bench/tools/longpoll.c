// longpoll: parks N HTTP long-polls on one URL and times their answers.
//
//   longpoll HOST PORT PATH N READY_FILE
//
// Opens N connections to HOST:PORT, sends "GET PATH" on each (PATH carries
// ?index=..&wait=..), then writes "parked <ns>\n" to READY_FILE once every
// request is sent and no answer has come for 500 ms. It then waits (up to
// 120 s) until every connection has a complete response head, and prints one
// line per connection: "<status> <CLOCK_MONOTONIC ns of the answer>", or
// "none 0" for one that never answered. One epoll thread, so the client adds
// microseconds, not milliseconds, per answer.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct conn {
  int fd;
  int status;
  long long answered;
  char head[512];
  size_t len;
};

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: longpoll HOST PORT PATH N READY_FILE\n");
    return 2;
  }
  const int n = atoi(argv[4]);
  struct rlimit rl = {(rlim_t)n + 64, (rlim_t)n + 64};
  setrlimit(RLIMIT_NOFILE, &rl);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &addr.sin_addr);
  char request[1024];
  int req_len = snprintf(request, sizeof request,
                         "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", argv[3],
                         argv[1]);
  struct conn* conns = calloc((size_t)n, sizeof *conns);
  int ep = epoll_create1(0);
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0 ||
        write(fd, request, (size_t)req_len) != req_len) {
      fprintf(stderr, "longpoll: connection %d: %s\n", i, strerror(errno));
      return 1;
    }
    conns[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  int done = 0;
  int parked_written = 0;
  const long long give_up = now_ns() + 120LL * 1000000000LL;
  struct epoll_event events[256];
  while (done < n && now_ns() < give_up) {
    int k = epoll_wait(ep, events, 256, parked_written ? 1000 : 500);
    if (k == 0 && !parked_written) {
      FILE* f = fopen(argv[5], "w");
      if (f != NULL) {
        fprintf(f, "parked %lld\n", now_ns());
        fclose(f);
      }
      parked_written = 1;
      continue;
    }
    const long long t = now_ns();
    for (int j = 0; j < k; ++j) {
      struct conn* c = &conns[events[j].data.u32];
      ssize_t r = read(c->fd, c->head + c->len, sizeof c->head - 1 - c->len);
      if (r > 0) c->len += (size_t)r;
      c->head[c->len] = '\0';
      if (c->answered == 0 && (strstr(c->head, "\r\n\r\n") != NULL || r <= 0 ||
                               c->len == sizeof c->head - 1)) {
        c->answered = t;
        sscanf(c->head, "HTTP/1.%*d %d", &c->status);
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        ++done;
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    if (conns[i].answered) {
      printf("%d %lld\n", conns[i].status, conns[i].answered);
    } else {
      printf("none 0\n");
    }
  }
  return 0;
}
