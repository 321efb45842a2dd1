# A Debian package of the install layout of cmake/install.cmake, with the prefix /usr:
#   cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DDISTLS_BUILD_TESTS=OFF -DDISTLS_WERROR=OFF
#   cmake --build build-release && (cd build-release && cpack -G DEB)
# -> build-release/distls_VERSION_ARCH.deb. Depends comes from dpkg-shlibdeps (dpkg-dev),
# i.e. from the libraries the binary links. docs/bare-metal.md installs and uses it.
set(CPACK_PACKAGE_NAME distls)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "mutual TLS for Erlang distribution, as a sidecar")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "distls stands beside an Erlang node, answers its EPMD requests on loopback and\n"
    "carries its distribution connections over mutual TLS, with certificates it renews\n"
    "itself. Includes the OTP application distls (-epmd_module distls_epmd,\n"
    "-proto_dist distls) in Erlang's library directory and systemd units.")
set(CPACK_PACKAGE_CONTACT "distls developers <distls@invalid>")
# DESTDIR staging: the install runs with the package's prefix, /usr, whatever this
# build was configured with, and writes /etc (the environment files) inside the package.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Beside the libraries: distls.service reloads with /bin/kill.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "procps")
# The beams (compiled by this build's OTP) are for nodes that use Debian's Erlang; a
# release that bundles its own runtime carries the distls application itself.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "erlang-base")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/cmake/debian/conffiles
    ${CMAKE_SOURCE_DIR}/cmake/debian/postinst
    ${CMAKE_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/\\\\.git$" "/build[^/]*/" "/__pycache__/" "\\\\.beam$")
include(CPack)
