# ZKELECT_SANITIZE: "" (none), "address,undefined" or "thread". Applied to
# every target so that the library, the binary and the tests agree.
set(ZKELECT_SANITIZE "" CACHE STRING "Sanitizers to build with")
if(ZKELECT_SANITIZE)
  add_compile_options(-fsanitize=${ZKELECT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ZKELECT_SANITIZE})
endif()
