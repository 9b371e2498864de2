# fdo_warnings: applied to our own targets only (docs/style.md §11).
add_library(fdo_warnings INTERFACE)
target_compile_options(fdo_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(FDO_WERROR)
  target_compile_options(fdo_warnings INTERFACE -Werror)
endif()
# GCC 12 at -O3 (Release) reports -Wrestrict and -Wstringop-overread inside libstdc++'s own std::string and
# std::vector code that it inlined into ours (GCC bug 105651 and its kin): false positives in the library's
# headers, not in our code, so only there and only for GCC before 13 are the two silenced.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(fdo_warnings INTERFACE
    $<$<CONFIG:Release,MinSizeRel>:-Wno-restrict -Wno-stringop-overread>)
endif()
