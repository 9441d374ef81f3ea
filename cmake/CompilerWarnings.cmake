# Warnings travel through an INTERFACE target so that every target of the
# project gets the same set; -Werror with ZKELECT_WARNINGS_AS_ERRORS (the
# presets).
# Not -Wnull-dereference: with GCC 12 at -O2 it fires inside libstdc++ and
# CLI11 code inlined into ours (false positives we cannot fix at the source).
add_library(zkelect_warnings INTERFACE)
target_compile_options(zkelect_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:Clang>:-Wthread-safety>)
if(ZKELECT_WARNINGS_AS_ERRORS)
  target_compile_options(zkelect_warnings INTERFACE -Werror)
endif()
