# Debian packages (docs/deploy.md): the install() rules of every role and of libfdo-dev, and CPack's DEB generator
# making one package per component. Included last by the top CMakeLists.txt, once every target exists.
# scripts/package.sh builds the packages; package_test.sh and systemd_boot_test.sh (ctest label `package`) check
# them. Programs install under /usr, units under /usr/lib/systemd/system, the default configs in /etc/fdo (an
# absolute path: `cmake --install` writes there too, whatever the prefix).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Debian's multiarch library folder (lib/x86_64-linux-gnu) whatever the prefix, so that `cmake --install` and the
# package agree; GNUInstallDirs gives it only for a /usr prefix.
find_program(FDO_DPKG_ARCHITECTURE dpkg-architecture)
if(FDO_DPKG_ARCHITECTURE)
  execute_process(COMMAND ${FDO_DPKG_ARCHITECTURE} -qDEB_HOST_MULTIARCH
                  OUTPUT_VARIABLE fdo_multiarch OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(FDO_LIBDIR lib/${fdo_multiarch})
else()
  set(FDO_LIBDIR ${CMAKE_INSTALL_LIBDIR})
endif()
set(FDO_SYSCONFDIR /etc/fdo)
set(FDO_UNITDIR lib/systemd/system)

# --- One package per role -----------------------------------------------------------------------------------------
# Component ROLE (tpm_provisioner for tpm-provisioner) is package fdo-ROLE with the summary below. The servers also get
# a unit, a default config and maintainer scripts.
set(fdo_servers manufacturer rendezvous owner)
set(fdo_summary_manufacturer "FIDO Device Onboard manufacturer server (DI) and voucher store")
set(fdo_summary_rendezvous "FIDO Device Onboard rendezvous server (TO0 and TO1)")
set(fdo_summary_owner "FIDO Device Onboard owner server (TO2, automatic TO0, admin API)")
set(fdo_summary_device "FIDO Device Onboard device client (DI, TO1, TO2)")
set(fdo_summary_reseller "FIDO Device Onboard voucher tool: show, verify, extend")
set(fdo_summary_tpm_provisioner "FIDO Device Onboard TPM provisioning tool")

set(fdo_components)
foreach(role manufacturer rendezvous owner device reseller tpm-provisioner)
  string(REPLACE "-" "_" comp ${role})
  if(NOT TARGET fdo-${role})
    continue()
  endif()
  list(APPEND fdo_components ${comp})
  string(TOUPPER ${comp} COMP)
  install(TARGETS fdo-${role} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${comp})
  set(CPACK_DEBIAN_${COMP}_PACKAGE_NAME fdo-${role})
  set(CPACK_DEBIAN_${COMP}_PACKAGE_SECTION net)
  set(CPACK_COMPONENT_${COMP}_DESCRIPTION "${fdo_summary_${comp}}
Part of fdo-cpp, a C++ implementation of FIDO Device Onboard (FDO) 1.1.")
  if(role IN_LIST fdo_servers)
    install(FILES ${CMAKE_CURRENT_LIST_DIR}/systemd/fdo-${role}.service DESTINATION ${FDO_UNITDIR} COMPONENT ${comp})
    install(FILES ${CMAKE_CURRENT_LIST_DIR}/config/${role}.toml DESTINATION ${FDO_SYSCONFDIR} COMPONENT ${comp})
    install(FILES ${CMAKE_SOURCE_DIR}/docs/deploy.md DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/fdo-${role}
            COMPONENT ${comp})
    set(ROLE ${role})
    set(control ${CMAKE_BINARY_DIR}/packaging/debian/${role})
    foreach(script postinst prerm postrm)
      configure_file(${CMAKE_CURRENT_LIST_DIR}/debian/${script}.in ${control}/${script} @ONLY
                     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
                                      WORLD_EXECUTE)
    endforeach()
    file(WRITE ${control}/conffiles "${FDO_SYSCONFDIR}/${role}.toml\n")
    set(CPACK_DEBIAN_${COMP}_PACKAGE_CONTROL_EXTRA
        "${control}/conffiles;${control}/postinst;${control}/prerm;${control}/postrm")
    # postinst creates the system user with adduser (docs/deploy.md "What the package does").
    set(CPACK_DEBIAN_${COMP}_PACKAGE_DEPENDS adduser)
  endif()
endforeach()

# --- libfdo-dev: every layer's static library, its headers and a CMake package config (find_package(fdo)) -------
get_property(fdo_layers GLOBAL PROPERTY FDO_LAYERS)
foreach(layer IN LISTS fdo_layers)
  string(REGEX REPLACE "^fdo_" "" short ${layer})
  set_target_properties(${layer} PROPERTIES EXPORT_NAME ${short})  # fdo_protocol is fdo::protocol
endforeach()
install(TARGETS ${fdo_layers} EXPORT fdoTargets
        ARCHIVE DESTINATION ${FDO_LIBDIR} COMPONENT dev
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/libfdo/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/libfdo COMPONENT dev
        FILES_MATCHING PATTERN "*.h"
        PATTERN "*_test*.h" EXCLUDE PATTERN "internal" EXCLUDE PATTERN "fuzz" EXCLUDE PATTERN "testdata" EXCLUDE
        PATTERN "interop" EXCLUDE)
set(fdo_cmake_dir ${FDO_LIBDIR}/cmake/fdo)
install(EXPORT fdoTargets NAMESPACE fdo:: DESTINATION ${fdo_cmake_dir} COMPONENT dev)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/fdoConfig.cmake.in ${CMAKE_BINARY_DIR}/packaging/fdoConfig.cmake
                              INSTALL_DESTINATION ${fdo_cmake_dir})
# 0.x: a minor version may break the API, so only the same minor version matches.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/packaging/fdoConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/packaging/fdoConfig.cmake ${CMAKE_BINARY_DIR}/packaging/fdoConfigVersion.cmake
        DESTINATION ${fdo_cmake_dir} COMPONENT dev)
list(APPEND fdo_components dev)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libfdo-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The -dev packages of the libraries the layers link (static libraries pass them on), and pkg-config, which
# fdoConfig.cmake uses to find them.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libssl-dev (>= 3), libcbor-dev, libsqlite3-dev, libpq-dev, libcpp-httplib-dev, libcrypt-dev, libtss2-dev, pkg-config"
   )
set(CPACK_COMPONENT_DEV_DESCRIPTION "FIDO Device Onboard 1.1 library (libfdo), development files
The layers of libfdo as static libraries (fdo::core, fdo::cbor, ..., fdo::protocol), their headers under
/usr/include/libfdo and a CMake package configuration: find_package(fdo) gives the imported targets fdo::LAYER."
   )

# --- CPack -----------------------------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fdo)
set(CPACK_PACKAGE_VENDOR fdo-cpp)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL ${fdo_components})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # fdo-rendezvous_0.1.0_amd64.deb
if(NOT DEFINED CPACK_DEBIAN_PACKAGE_MAINTAINER)
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "fdo-cpp developers <fdo-cpp@localhost>")
endif()
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends of the executables from the Debian 12 libraries they link (libssl3, libcbor0.8, libsqlite3-0, ...).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_STRIP_FILES TRUE)  # executables only: cmake --install --strip leaves static libraries as they are
include(CPack)

# The packages built from this build tree, checked and run from a scratch root (packaging/package_test.sh).
if(FDO_BUILD_TESTS)
  add_test(NAME package_deb COMMAND ${CMAKE_CURRENT_LIST_DIR}/package_test.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(package_deb PROPERTIES LABELS package TIMEOUT 300)
  # The same packages installed and run under a real systemd in a throwaway container (skipped where none boots).
  add_test(NAME package_systemd_boot COMMAND ${CMAKE_CURRENT_LIST_DIR}/systemd_boot_test.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(package_systemd_boot PROPERTIES LABELS package TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
