# What `cmake --install` puts where, relative to CMAKE_INSTALL_PREFIX (the .deb of
# cmake/package.cmake is this with the prefix /usr):
#
#   bin/distls
#   lib/erlang/lib/distls-VSN/ebin/     the OTP application `distls` (beams and .app).
#                                       With the prefix /usr this is Debian's
#                                       code:lib_dir(), so `erl` finds distls_epmd with
#                                       no -pa; elsewhere point ERL_LIBS at lib/erlang/lib.
#   lib/systemd/system/distls.service, distls-signer.service
#   lib/sysusers.d/distls.conf          the user distls.service runs as
#   SYSCONFDIR/distls/proxy.env, signer.env   (SYSCONFDIR: /etc with the prefix /usr)
#   share/doc/distls/                   README and docs/
#
# The units name the binary and the configuration by absolute path, so they are written
# at install time, from the prefix the install (or CPack) actually uses.
include(GNUInstallDirs)

set(DISTLS_ERLANG_LIBDIR "lib/erlang/lib" CACHE STRING
    "Where the OTP application is installed, relative to the prefix (Erlang's lib directory)")
set(DISTLS_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd units are installed, relative to the prefix")

install(TARGETS distls RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

if(ERLC)
  install(DIRECTORY ${DISTLS_EBIN}/
          DESTINATION ${DISTLS_ERLANG_LIBDIR}/distls-${PROJECT_VERSION}/ebin
          FILES_MATCHING PATTERN "*.beam" PATTERN "distls.app")
endif()

install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/distls.sysusers
        DESTINATION lib/sysusers.d RENAME distls.conf)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")

# Install-time values: CMAKE_INSTALL_PREFIX is the one of this install, and DESTDIR (set
# by CPack, or by hand) is added by file(INSTALL) itself.
install(CODE "
  set(DISTLS_UNIT_SOURCES \"${CMAKE_SOURCE_DIR}/deploy/systemd\")
  set(DISTLS_UNIT_WORK \"${CMAKE_BINARY_DIR}/systemd\")
  set(DISTLS_BINDIR_REL \"${CMAKE_INSTALL_BINDIR}\")
  set(DISTLS_DOCDIR_REL \"${CMAKE_INSTALL_DOCDIR}\")
  set(DISTLS_SYSCONFDIR_CONFIGURED \"${CMAKE_INSTALL_SYSCONFDIR}\")
  set(DISTLS_UNITDIR_REL \"${DISTLS_SYSTEMD_UNITDIR}\")
")
install(SCRIPT ${CMAKE_SOURCE_DIR}/cmake/install_units.cmake)
