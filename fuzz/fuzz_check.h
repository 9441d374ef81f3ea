#pragma once

#include <cstdio>
#include <cstdlib>

// FUZZ_CHECK(condition, what): the property checks of the fuzzers. A failed
// check prints `what` and aborts, which libFuzzer reports as a crash and
// saves as a reproducer. Unlike assert(), it stays on in every build type.
#define FUZZ_CHECK(condition, what)                                                         \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property violated: %s (%s)\n", __FILE__, __LINE__, what, \
                   #condition);                                                             \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)
