# Runs at install time (install(SCRIPT) in cmake/install.cmake): writes the systemd
# units with this install's absolute paths, and the environment files beside them.
#
# The system configuration directory follows GNUInstallDirs: /etc for the prefix /usr,
# /etc/opt/... for /opt/..., PREFIX/etc otherwise, unless it was set absolute.
function(distls_absolute out rel)
  if(IS_ABSOLUTE "${rel}")
    set(${out} "${rel}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${rel}" PARENT_SCOPE)
  endif()
endfunction()

if(IS_ABSOLUTE "${DISTLS_SYSCONFDIR_CONFIGURED}")
  set(SYSCONFDIR "${DISTLS_SYSCONFDIR_CONFIGURED}")
elseif(CMAKE_INSTALL_PREFIX MATCHES "^/usr/?$")
  set(SYSCONFDIR "/etc")
elseif(CMAKE_INSTALL_PREFIX MATCHES "^/opt/(.+)$")
  set(SYSCONFDIR "/etc/opt/${CMAKE_MATCH_1}")
else()
  set(SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/${DISTLS_SYSCONFDIR_CONFIGURED}")
endif()
distls_absolute(BINDIR "${DISTLS_BINDIR_REL}")
distls_absolute(DOCDIR "${DISTLS_DOCDIR_REL}")
distls_absolute(UNITDIR "${DISTLS_UNITDIR_REL}")

file(MAKE_DIRECTORY "${DISTLS_UNIT_WORK}")
foreach(unit distls.service distls-signer.service)
  configure_file("${DISTLS_UNIT_SOURCES}/${unit}.in" "${DISTLS_UNIT_WORK}/${unit}" @ONLY)
  file(INSTALL DESTINATION "${UNITDIR}" TYPE FILE FILES "${DISTLS_UNIT_WORK}/${unit}")
endforeach()
# Readable by all: they hold options, never keys (those go in distls/tls/ and
# distls/signer/, which the .deb creates with restrictive modes). An existing one is
# the administrator's: a second install keeps it (dpkg does the same for conffiles).
foreach(env proxy.env signer.env)
  if(EXISTS "$ENV{DESTDIR}${SYSCONFDIR}/distls/${env}")
    message(STATUS "Keeping: $ENV{DESTDIR}${SYSCONFDIR}/distls/${env}")
  else()
    file(INSTALL DESTINATION "${SYSCONFDIR}/distls" TYPE FILE FILES "${DISTLS_UNIT_SOURCES}/${env}")
  endif()
endforeach()
