# Warnings travel through an INTERFACE target so that every target of the
# project gets the same set; -Werror applies when built on its own.
add_library(zkelect_warnings INTERFACE)
target_compile_options(zkelect_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:Clang>:-Wthread-safety>)
if(ZKELECT_WARNINGS_AS_ERRORS)
  target_compile_options(zkelect_warnings INTERFACE -Werror)
endif()
