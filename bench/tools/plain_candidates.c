/* bench/tools/plain_candidates: creates COUNT persistent sequential znodes
 * PATH/_c_<uuid>-latch-<seq> (the Curator latch form) with data "pNNN", with
 * Debian's libzookeeper-mt, creating PATH (and its parent) first. For
 * bench/status-cost: candidates without a daemon each.
 *
 * Usage: plain_candidates CONNECT PATH COUNT */
#define THREADED /* the synchronous API of libzookeeper_mt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static void create_parents(zhandle_t *zh, const char *path) {
  char partial[1024];
  for (const char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
    size_t len = p ? (size_t)(p - path) : strlen(path);
    snprintf(partial, sizeof partial, "%.*s", (int)len, path);
    zoo_create(zh, partial, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (!p) break;
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s CONNECT PATH COUNT\n", argv[0]);
    return 2;
  }
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t *zh = zookeeper_init(argv[1], NULL, 10000, NULL, NULL, 0);
  if (!zh) return 1;
  for (int i = 0; i < 200 && zoo_state(zh) != ZOO_CONNECTED_STATE; ++i) usleep(50000);
  create_parents(zh, argv[2]);
  const int count = atoi(argv[3]);
  for (int i = 0; i < count; ++i) {
    char path[1024], data[32];
    snprintf(path, sizeof path, "%s/_c_%08x-0000-4000-8000-%012x-latch-", argv[2],
             (unsigned)rand(), (unsigned)i);
    snprintf(data, sizeof data, "p%03d", i + 1);
    const int rc = zoo_create(zh, path, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE,
                              ZOO_SEQUENCE, NULL, 0);
    if (rc != ZOK) {
      fprintf(stderr, "create %s: %s\n", path, zerror(rc));
      return 1;
    }
  }
  zookeeper_close(zh);
  return 0;
}
