# Install layout of the Debian package and its CPack settings.
#
#   cmake --build build/release && (cd build/release && cpack -G DEB)
#
# gives zkelect_<version>_<arch>.deb: the binary in /usr/bin, the systemd unit
# in /lib/systemd/system, /etc/zkelect/zkelect.toml as a conffile (the API on
# the Unix socket /run/zkelect/api.sock; see below), the example
# hooks in /usr/share/zkelect/hooks, the manual page zkelect(8), and maintainer
# scripts (packaging/debian/) that create the `zkelect` system user on install
# (a purge keeps it, as Debian does). Runtime library dependencies are
# computed by dpkg-shlibdeps from the binary, so they always match what it
# links. The binary is built with Debian's hardening flags (Hardening.cmake).
#
# The unit and configuration go to the absolute paths Debian uses whatever the
# install prefix, because the unit names /usr/bin/zkelect and the daemon reads
# /etc/zkelect/zkelect.toml by default.

set(ZKELECT_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH
    "Where the package installs zkelect.service")
set(ZKELECT_CONFIG_DIR "/etc/zkelect" CACHE PATH
    "Where the package installs zkelect.toml (a conffile)")

install(FILES systemd/zkelect.service DESTINATION ${ZKELECT_SYSTEMD_UNIT_DIR})

# The package's zkelect.toml is config/zkelect.toml (every key at its
# default) with one setting made: the API on a Unix socket alone, so that
# only root and the zkelect group may POST /resign (on 127.0.0.1 without a
# token every local user could). The unit's RuntimeDirectory= makes
# /run/zkelect.
set(ZKELECT_PACKAGE_LISTEN "unix:/run/zkelect/api.sock")
file(READ config/zkelect.toml ZKELECT_PACKAGE_CONFIG)
set(ZKELECT_SHIPPED_HTTP "#[http]\n")
set(ZKELECT_SHIPPED_LISTEN "#listen = \"127.0.0.1:4040\"\n")
string(FIND "${ZKELECT_PACKAGE_CONFIG}" "${ZKELECT_SHIPPED_LISTEN}" ZKELECT_LISTEN_AT)
if(ZKELECT_LISTEN_AT EQUAL -1)
  message(FATAL_ERROR "config/zkelect.toml: no line ${ZKELECT_SHIPPED_LISTEN} to set for the package")
endif()
string(REPLACE "${ZKELECT_SHIPPED_HTTP}" "[http]\n" ZKELECT_PACKAGE_CONFIG "${ZKELECT_PACKAGE_CONFIG}")
string(REPLACE "${ZKELECT_SHIPPED_LISTEN}"
       "# The package listens on this socket alone (the default is 127.0.0.1:4040):\n# `zkelect status` and the other commands find it here; for curl, see the\n# README. Members of the zkelect group may use it (socket_mode).\nlisten = \"${ZKELECT_PACKAGE_LISTEN}\"\n"
       ZKELECT_PACKAGE_CONFIG "${ZKELECT_PACKAGE_CONFIG}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/package/zkelect.toml "${ZKELECT_PACKAGE_CONFIG}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_SOURCE_DIR}/config/zkelect.toml)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/package/zkelect.toml DESTINATION ${ZKELECT_CONFIG_DIR})
install(PROGRAMS config/hooks/promote config/hooks/demote DESTINATION share/zkelect/hooks)
install(FILES README.md packaging/debian/copyright DESTINATION share/doc/zkelect)

set(CPACK_PACKAGE_NAME zkelect)
set(CPACK_PACKAGE_VENDOR "zkelect")
set(CPACK_PACKAGE_CONTACT "zkelect dev <dev@zkelect.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "leader-election sidecar daemon over ZooKeeper")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "zkelect runs next to each instance of an application and elects exactly one\n"
    "leader among them through ZooKeeper. The application, in any language, learns\n"
    "its role over a localhost HTTP API or through start/stop hook commands.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Absolute destinations (/etc, /lib) are intended: see the top of this file.
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: the postinst creates the system user with it. procps: /bin/kill,
# the unit's ExecReload= (not Essential: debian:bookworm-slim lacks it, and
# `systemctl reload zkelect` failed there).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "zookeeper")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)

# Debian wants a compressed changelog beside the copyright file (a native
# package: changelog.gz). string(TIMESTAMP) honours SOURCE_DATE_EPOCH.
string(TIMESTAMP ZKELECT_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(packaging/debian/changelog.in ${PROJECT_BINARY_DIR}/packaging/changelog @ONLY)
file(ARCHIVE_CREATE OUTPUT ${PROJECT_BINARY_DIR}/packaging/changelog.gz
     PATHS ${PROJECT_BINARY_DIR}/packaging/changelog
     FORMAT raw COMPRESSION GZip COMPRESSION_LEVEL 9 MTIME 0)
install(FILES ${PROJECT_BINARY_DIR}/packaging/changelog.gz DESTINATION share/doc/zkelect)

# As Debian's dh_strip does, the binary loses its .comment section (compiler
# versions) on top of cpack's strip.
find_program(ZKELECT_OBJCOPY NAMES objcopy)
if(ZKELECT_OBJCOPY)
  install(CODE "execute_process(COMMAND ${ZKELECT_OBJCOPY} --remove-section=.comment
                  \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/bin/zkelect\" COMMAND_ERROR_IS_FATAL ANY)")
endif()

# Lintian overrides, each with its reason (packaging/debian/lintian-overrides).
install(FILES packaging/debian/lintian-overrides DESTINATION share/lintian/overrides
        RENAME zkelect)

# The manual page zkelect(8), compressed as Debian wants it.
configure_file(packaging/zkelect.8 ${PROJECT_BINARY_DIR}/packaging/zkelect.8 COPYONLY)
file(ARCHIVE_CREATE OUTPUT ${PROJECT_BINARY_DIR}/packaging/zkelect.8.gz
     PATHS ${PROJECT_BINARY_DIR}/packaging/zkelect.8
     FORMAT raw COMPRESSION GZip COMPRESSION_LEVEL 9 MTIME 0)
install(FILES ${PROJECT_BINARY_DIR}/packaging/zkelect.8.gz DESTINATION share/man/man8)

include(CPack)
