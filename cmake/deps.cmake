# Third-party dependencies, all from Debian 12 packages (scripts/setup.sh).
# Each is linked by exactly one libfdo layer (docs/style.md §1); storage/ links two, SQLite and libpq
# (docs/adr/0002-dependency-containment.md).
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3 REQUIRED)
pkg_check_modules(LIBCBOR REQUIRED IMPORTED_TARGET libcbor)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(LIBCRYPT REQUIRED IMPORTED_TARGET libxcrypt)
# sd_notify(3) for the servers' systemd units; tools/common/systemd.cpp only, no libfdo layer.
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
find_package(CLI11 REQUIRED)
# Header-only; the types layer (JSON of the tools and --rv-info) and the integration-test harness.
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
if(FDO_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FDO_BUILD_BENCH AND NOT FDO_SANITIZE AND NOT FDO_FUZZ)
  find_package(benchmark REQUIRED)
endif()
