# Build time. CI builds three presets from scratch on two cores, and most of
# that time goes into the test code, not the product:
#
#  - Test code compiles without optimization (-O0) whatever the build type:
#    GCC 12 spent 25 s on config_loader_test.cc at -O2 -g and 8 s at -O0 -g.
#    What the tests check, the library and the binary, keeps the build
#    type's flags (-O2 in release, the sanitizers' levels in debug and tsan).
#    ZKELECT_OPTIMIZE_TESTS=ON compiles the tests with those flags too.
#  - Every test source parses GoogleTest, and most parse nlohmann/json and
#    cpp-httplib too, so a preset may precompile those once for all the test
#    code (tests/CMakeLists.txt). Not for the library: half of its sources
#    are small and loading a 200 MB precompiled header cost them more than it
#    saved the others. With optimization (-O1 and up) GCC 12 reports its
#    known -Warray-bounds false positives inside std::string when <string>
#    comes from a precompiled header (the system-header exemption is lost),
#    and -Werror makes them errors: precompiled headers need unoptimized test
#    code. Off by default: ccache, used for local builds, does not cache
#    compilations that use a precompiled header unless configured for it.
#    The presets (what CI builds) turn it on.
#  - ZKELECT_TEST_LABELS / ZKELECT_TEST_EXCLUDED_LABELS: a build that runs
#    only some tests (scripts/test.sh passes each preset's ctest label
#    selection) does not build the test programs of the others.
#  - ZKELECT_UNIT_TESTS_IN_ONE_PROCESS: the unit tests are one CTest entry,
#    `unit.all`, that runs the whole GoogleTest program once, instead of one
#    entry (and one process) per test. Each process start costs a sanitizer
#    runtime's start-up: the 434 unit tests took 82 s one process each under
#    ASan and 14 s in one process (TSan 40 s and 16 s, release 18 s and
#    10 s). Off by default, so that `ctest -R <test>` finds single tests;
#    scripts/test.sh turns it on unless it is given ctest arguments.
option(ZKELECT_OPTIMIZE_TESTS "Compile the test code with the build type's optimization" OFF)
option(ZKELECT_UNIT_TESTS_IN_ONE_PROCESS "Run the unit tests as one CTest entry (one process)" OFF)
option(ZKELECT_PRECOMPILE_HEADERS "Precompile the heavy third-party headers of the tests" OFF)
if(ZKELECT_PRECOMPILE_HEADERS AND ZKELECT_OPTIMIZE_TESTS)
  message(FATAL_ERROR "ZKELECT_PRECOMPILE_HEADERS needs unoptimized test code "
                      "(ZKELECT_OPTIMIZE_TESTS=OFF): see cmake/BuildSpeed.cmake")
endif()
set(ZKELECT_TEST_LABELS "" CACHE STRING
    "Build the tests of the labels matching this regex (ctest -L; empty: all)")
set(ZKELECT_TEST_EXCLUDED_LABELS "" CACHE STRING
    "Build no test whose label matches this regex (ctest -LE; empty: none)")

# zkelect_unoptimized_tests(): the targets defined after this call in the
# current directory compile without optimization, unless
# ZKELECT_OPTIMIZE_TESTS. (Compile options come after the build type's flags
# on the command line, and the last -O wins.)
macro(zkelect_unoptimized_tests)
  if(NOT ZKELECT_OPTIMIZE_TESTS)
    add_compile_options(-O0)
  endif()
endmacro()

# zkelect_tests_selected(<out> <label>): sets <out> to TRUE when the tests
# labelled <label> are to be built, as ctest -L ZKELECT_TEST_LABELS
# -LE ZKELECT_TEST_EXCLUDED_LABELS would select them.
function(zkelect_tests_selected out label)
  set(selected TRUE)
  if(NOT ZKELECT_TEST_LABELS STREQUAL "" AND NOT label MATCHES "${ZKELECT_TEST_LABELS}")
    set(selected FALSE)
  endif()
  if(NOT ZKELECT_TEST_EXCLUDED_LABELS STREQUAL "" AND label MATCHES "${ZKELECT_TEST_EXCLUDED_LABELS}")
    set(selected FALSE)
  endif()
  set(${out} ${selected} PARENT_SCOPE)
endfunction()

# zkelect_precompile_headers(<target> <header>...): precompiles the given
# headers (written "<a/b.h>") for <target>'s sources, when enabled.
function(zkelect_precompile_headers target)
  if(ZKELECT_PRECOMPILE_HEADERS)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()

# zkelect_reuse_precompiled_headers(<target> <from>): <target> uses the
# precompiled headers of <from>, which must compile with the same flags.
function(zkelect_reuse_precompiled_headers target from)
  if(ZKELECT_PRECOMPILE_HEADERS)
    target_precompile_headers(${target} REUSE_FROM ${from})
  endif()
endfunction()
