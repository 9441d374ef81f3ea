// floor: the least a ZooKeeper client can do for a leader handoff; the floor
// that bench/failover measures zkelect against ("floor" system).
//
//   floor CONNECT ELECTION_PATH SESSION_MS STAMP_FILE STAMP_TOOL [stop]
//
// One participant of the usual recipe (an ephemeral sequential node; each
// candidate watches its predecessor) on the ZooKeeper C client
// (libzookeeper_mt), with no daemon around it and nothing else:
//   - the leader, on SIGTERM, deletes its node (then closes its session 20 ms
//     later, out of the successor's way, as zkelect does, and exits);
//   - the successor's watch on its predecessor fires; it lists the children
//     and reads its own node (both sent back to back: one round trip), and,
//     being first, posix_spawns STAMP_TOOL STAMP_FILE start.
// Everything after the notification runs on the C client's completion
// thread, in its callbacks: no hop to another thread. It appends
// "notified <ns>" (the watch's callback begins) and "listed <ns>" (both
// answers in, just before the spawn) to STAMP_FILE, CLOCK_MONOTONIC, with
// one write(2) each. A participant that is not first after a listing
// watches its new predecessor. Errors end the process (exit 1): the bench
// restarts it.
//
// With "stop" (system "floor-with-stop"), the leader on SIGTERM first
// posix_spawns STAMP_TOOL STAMP_FILE stop and waits for it to exit, then
// deletes its node: the least any participant can do that runs a stop step
// to its end before it lets go (zkelect's design rule 12), the counterpart
// of zkelect with both hooks.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define THREADED  // the synchronous calls of libzookeeper_mt
#include <zookeeper/zookeeper.h>

extern char** environ;

static zhandle_t* zh;
static const char* election;
static const char* stamp_file;
static const char* stamp_tool;
static char own_path[512];
static const char* own_name;  // within own_path
static int leading;

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char* what, int rc) {
  fprintf(stderr, "floor: %s: %s\n", what, zerror(rc));
  _exit(1);
}

static void stamp(const char* label, long long ns) {
  char line[128];
  int n = snprintf(line, sizeof line, "%s %lld\n", label, ns);
  int fd = open(stamp_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) {
    if (write(fd, line, (size_t)n) != n) _exit(1);
    close(fd);
  }
}

static void list_and_read(void);

// Spawns STAMP_TOOL STAMP_FILE label; returns its pid, or -1 (said on stderr).
static pid_t spawn_stamp(char* label) {
  char* argv[] = {(char*)stamp_tool, (char*)stamp_file, label, NULL};
  pid_t pid;
  int e = posix_spawn(&pid, stamp_tool, NULL, NULL, argv, environ);
  if (e != 0) {
    fprintf(stderr, "floor: posix_spawn %s: %s\n", stamp_tool, strerror(e));
    return -1;
  }
  return pid;
}

static void predecessor_watch(zhandle_t* z, int type, int state, const char* path, void* ctx) {
  (void)z, (void)state, (void)path, (void)ctx;
  if (type == ZOO_DELETED_EVENT) {
    stamp("notified", now_ns());
    list_and_read();
  }
}

// The sequence number: the last ten characters of a candidate's name.
static const char* seq(const char* name) {
  size_t n = strlen(name);
  return n >= 10 ? name + n - 10 : name;
}

static void exists_done(int rc, const struct Stat* stat, const void* data) {
  (void)stat, (void)data;
  if (rc == ZNONODE) {
    list_and_read();  // gone before the watch was set: list again
  } else if (rc != ZOK) {
    die("exists", rc);
  }
}

static struct String_vector listing;
static int listing_rc;

static void children_done(int rc, const struct String_vector* strings, const void* data) {
  (void)data;
  listing_rc = rc;
  deallocate_String_vector(&listing);
  listing.count = 0;
  listing.data = NULL;
  if (rc == ZOK) {
    listing.count = strings->count;
    listing.data = calloc((size_t)strings->count, sizeof(char*));
    for (int i = 0; i < strings->count; ++i) listing.data[i] = strdup(strings->data[i]);
  }
}

// The read of its own node, answered right after the listing: decide.
static void own_read_done(int rc, const char* value, int len, const struct Stat* stat,
                          const void* data) {
  (void)value, (void)len, (void)stat, (void)data;
  if (listing_rc != ZOK) die("get_children", listing_rc);
  if (rc != ZOK) die("get own node", rc);
  const char* predecessor = NULL;
  for (int i = 0; i < listing.count; ++i) {
    const char* s = seq(listing.data[i]);
    if (strcmp(s, seq(own_name)) < 0 && (predecessor == NULL || strcmp(s, seq(predecessor)) > 0)) {
      predecessor = listing.data[i];
    }
  }
  if (predecessor == NULL) {
    stamp("listed", now_ns());
    if (spawn_stamp("start") < 0) _exit(1);
    __atomic_store_n(&leading, 1, __ATOMIC_SEQ_CST);
    return;
  }
  char path[512];
  snprintf(path, sizeof path, "%s/%s", election, predecessor);
  int e = zoo_awexists(zh, path, predecessor_watch, NULL, exists_done, NULL);
  if (e != ZOK) die("exists", e);
}

static void list_and_read(void) {
  int rc = zoo_aget_children(zh, election, 0, children_done, NULL);
  if (rc == ZOK) rc = zoo_aget(zh, own_path, 0, own_read_done, NULL);
  if (rc != ZOK) die("list and read", rc);
}

static void session_watch(zhandle_t* z, int type, int state, const char* path, void* ctx) {
  (void)z, (void)path, (void)ctx;
  if (type == ZOO_SESSION_EVENT && state != ZOO_CONNECTED_STATE &&
      state != ZOO_CONNECTING_STATE && state != ZOO_ASSOCIATING_STATE) {
    fprintf(stderr, "floor: session state %d\n", state);
    _exit(1);
  }
}

int main(int argc, char** argv) {
  const int with_stop = argc == 7 && strcmp(argv[6], "stop") == 0;
  if (argc != 6 && !with_stop) {
    fprintf(stderr, "usage: floor CONNECT ELECTION_PATH SESSION_MS STAMP_FILE STAMP_TOOL [stop]\n");
    return 2;
  }
  election = argv[2];
  stamp_file = argv[4];
  stamp_tool = argv[5];
  // SIGTERM is taken by sigwait below; the client's threads inherit the mask.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, NULL);
  signal(SIGCHLD, SIG_IGN);  // the stamp tool is reaped by the kernel
  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  zh = zookeeper_init(argv[1], session_watch, atoi(argv[3]), NULL, NULL, 0);
  if (zh == NULL) {
    fprintf(stderr, "floor: zookeeper_init: %s\n", strerror(errno));
    return 1;
  }
  // As zkelect does: without this the library runs getaddrinfo on every
  // turn of its I/O loop, before each request and after each reply.
  zoo_set_servers_resolution_delay(zh, 30000);
  // The election path and its parents (/bench first, when no other system
  // created it).
  int rc = ZOK;
  char parent[512];
  snprintf(parent, sizeof parent, "%s", election);
  for (char* slash = strchr(parent + 1, '/');; slash = strchr(slash + 1, '/')) {
    if (slash) *slash = '\0';
    for (int i = 0; (rc = zoo_create(zh, parent, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0)) ==
                    ZCONNECTIONLOSS && i < 200;
         ++i) {
      usleep(50000);  // still connecting
    }
    if (rc != ZOK && rc != ZNODEEXISTS) die("create election path", rc);
    if (!slash) break;
    *slash = '/';
  }
  char prefix[512];
  snprintf(prefix, sizeof prefix, "%s/n_", election);
  rc = zoo_create(zh, prefix, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL | ZOO_SEQUENCE,
                  own_path, sizeof own_path);
  if (rc != ZOK) die("create own node", rc);
  own_name = strrchr(own_path, '/') + 1;
  list_and_read();
  int signo;
  sigwait(&term, &signo);
  if (!__atomic_load_n(&leading, __ATOMIC_SEQ_CST)) {
    fprintf(stderr, "floor: SIGTERM while not leading\n");
  }
  int failed = 0;
  if (with_stop) {
    signal(SIGCHLD, SIG_DFL);  // to wait for this one (the start stamp is long reaped)
    pid_t pid = spawn_stamp("stop");
    int status = 0;
    if (pid < 0) {
      failed = 1;  // still let go at once; the bench sees no stop stamp
    } else {
      pid_t waited;
      while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
      }
      if (waited < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "floor: the stop stamp did not exit 0\n");
        failed = 1;
      }
    }
  }
  rc = zoo_delete(zh, own_path, -1);
  if (rc != ZOK) die("delete own node", rc);
  usleep(20000);
  zookeeper_close(zh);
  return failed;
}
