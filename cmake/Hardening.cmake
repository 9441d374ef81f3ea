# Debian's hardening flags for the shipped code, the library and the binary:
# what `DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags` gives on
# Debian 12, so that lintian and hardening-check (devscripts) find the
# binary built as Debian builds its own packages:
#   -fstack-protector-strong, -Wformat -Werror=format-security
#   -D_FORTIFY_SOURCE=2        checked string and memory functions
#   -Wl,-z,relro -Wl,-z,now    full RELRO (bindnow)
#   PIE                        position-independent executable
# and the two that Debian 13 adds and hardening-check looks for:
#   -fstack-clash-protection, -fcf-protection (x86)
# (With Debian 12's glibc, whose startup files lack the CET marking, the
# linker leaves any binary unmarked: the code has the landing pads, but
# hardening-check cannot see control flow protection.)
# On by default, in every build that CI, developers and packagers make.
# Not applied to the tests (compiled at -O0, where glibc rejects
# _FORTIFY_SOURCE with a warning that -Werror makes an error), and
# _FORTIFY_SOURCE not in Debug or sanitized builds (the same warning at -O0;
# ASan and TSan intercept the functions it would replace).
option(ZKELECT_HARDENING "Build the library and the binary with Debian's hardening flags" ON)

include(CheckPIESupported)
check_pie_supported(LANGUAGES CXX)

add_library(zkelect_hardening INTERFACE)
if(ZKELECT_HARDENING)
  target_compile_options(zkelect_hardening INTERFACE
    -fstack-protector-strong -Wformat -Werror=format-security)
  include(CheckCXXCompilerFlag)
  foreach(flag -fstack-clash-protection -fcf-protection)
    string(MAKE_C_IDENTIFIER "ZKELECT_HAS${flag}" supported)
    check_cxx_compiler_flag(${flag} ${supported})
    if(${supported})
      target_compile_options(zkelect_hardening INTERFACE ${flag})
    endif()
  endforeach()
  if(NOT ZKELECT_SANITIZE)
    target_compile_definitions(zkelect_hardening INTERFACE
      $<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
  endif()
  target_link_options(zkelect_hardening INTERFACE LINKER:-z,relro LINKER:-z,now)
endif()

# zkelect_harden(<target>...): builds the targets with the flags above, as
# position-independent code (a PIE for an executable).
function(zkelect_harden)
  foreach(target IN LISTS ARGN)
    target_link_libraries(${target} PRIVATE zkelect_hardening)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endforeach()
endfunction()
