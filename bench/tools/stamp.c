// stamp: records CLOCK_MONOTONIC timestamps for the benchmarks in bench/.
//
//   stamp FILE LABEL          append "LABEL <ns>\n" to FILE and exit (a hook)
//   stamp --lines FILE LABEL  append "LABEL <ns>\n" for every line read on
//                             stdin (etcdctl elect prints a line when elected)
//   stamp --spawn-cost N      posix_spawn "stamp" N times and print the time
//                             from just before posix_spawn to the child's
//                             first clock reading, in ns, one per line
//
// The clock is read first thing in main(), so a hook's figure includes the
// cost of posix_spawn, exec and loading this (static) program, nothing more.
// CLOCK_MONOTONIC is what Python's time.monotonic_ns() and Java's
// System.nanoTime() read on Linux, so all participants share one time line.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// One write(2) of one line with O_APPEND: concurrent writers never interleave.
static int append_line(const char* path, const char* label, long long ns) {
  char line[256];
  int n = snprintf(line, sizeof line, "%s %lld\n", label, ns);
  if (n <= 0 || n >= (int)sizeof line) return 1;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return 1;
  int ok = write(fd, line, (size_t)n) == n;
  close(fd);
  return ok ? 0 : 1;
}

static int spawn_cost(const char* self, int rounds) {
  char path[] = "/tmp/stamp-spawn-cost-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  close(fd);
  for (int i = 0; i < rounds; ++i) {
    truncate(path, 0);
    char* argv[] = {(char*)self, path, "t", NULL};
    pid_t pid;
    long long before = now_ns();
    if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0) return 1;
    int status;
    waitpid(pid, &status, 0);
    FILE* f = fopen(path, "r");
    long long child = 0;
    if (f == NULL || fscanf(f, "t %lld", &child) != 1) return 1;
    fclose(f);
    printf("%lld\n", child - before);
  }
  unlink(path);
  return 0;
}

int main(int argc, char** argv) {
  long long t = now_ns();
  if (argc == 3 && strcmp(argv[1], "--spawn-cost") == 0) {
    return spawn_cost("/proc/self/exe", atoi(argv[2]));
  }
  if (argc == 4 && strcmp(argv[1], "--lines") == 0) {
    char buffer[4096];
    while (fgets(buffer, sizeof buffer, stdin) != NULL) {
      if (append_line(argv[2], argv[3], now_ns()) != 0) return 1;
    }
    return 0;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: stamp FILE LABEL | stamp --lines FILE LABEL | stamp --spawn-cost N\n");
    return 2;
  }
  return append_line(argv[1], argv[2], t);
}
