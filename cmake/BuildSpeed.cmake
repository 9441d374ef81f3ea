# Build time. Every test source parses GoogleTest, and most parse
# nlohmann/json and cpp-httplib too, so a preset may precompile those once for
# all the test code (tests/CMakeLists.txt). Not for the library: half of its
# sources are small and loading a 200 MB precompiled header cost them more
# than it saved the others. Only the debug preset (ASan+UBSan at -O0) turns it
# on: with optimization (-O1 and up) GCC 12 reports its known -Warray-bounds
# false positives inside std::string when <string> comes from a precompiled
# header (the system-header exemption is lost), and -Werror makes them errors.
# Off by default: ccache, used for local builds, does not cache
# compilations that use a precompiled header unless configured for it.
option(ZKELECT_PRECOMPILE_HEADERS "Precompile the heavy third-party headers" OFF)

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
