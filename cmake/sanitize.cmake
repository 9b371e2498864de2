# -DFDO_SANITIZE=ON: ASan + UBSan, no recovery, for everything in the build.
# -DFDO_FUZZ=ON (clang): the same, plus libFuzzer's coverage instrumentation; with tests on, one build directory
# serves both the ASan/UBSan test pass and the fuzz targets (scripts/test.sh). Code built with
# -fsanitize=fuzzer-no-link also links into ordinary programs: the sanitizer runtime has the coverage hooks.
if(FDO_SANITIZE OR FDO_FUZZ)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(FDO_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FDO_FUZZ=ON needs clang (CXX=clang++ CC=clang)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
