# The linker: about 90 executables (tools, test binaries, fuzz targets) are linked in each build directory, and
# GNU ld is the slowest of the linkers Debian 12 has. FDO_LINKER=auto (the default) picks mold, then lld, when the
# compiler accepts it (scripts/setup.sh installs lld); a name (bfd, gold, lld, mold) forces -fuse-ld=NAME, and
# `default` keeps the compiler's own. The choice changes no output a test can see.
include(CheckLinkerFlag)
set(FDO_LINKER auto CACHE STRING "Linker for -fuse-ld= (auto: mold or lld when installed; default: the compiler's)")
if(FDO_LINKER STREQUAL "auto")
  foreach(candidate mold lld)
    check_linker_flag(CXX -fuse-ld=${candidate} FDO_HAVE_LD_${candidate})
    if(FDO_HAVE_LD_${candidate})
      add_link_options(-fuse-ld=${candidate})
      message(STATUS "linker: ${candidate}")
      break()
    endif()
  endforeach()
elseif(NOT FDO_LINKER STREQUAL "default")
  add_link_options(-fuse-ld=${FDO_LINKER})
endif()
