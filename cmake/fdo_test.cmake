# fdo_add_test(NAME name SOURCES ... LIBS ... LABEL unit|interop|integration|...)
# One GoogleTest binary; each TEST() becomes a ctest entry with the label.
function(fdo_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL" "SOURCES;LIBS" ${ARGN})
  if(NOT FDO_BUILD_TESTS)
    return()
  endif()
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main fdo_warnings)
  target_compile_definitions(${T_NAME} PRIVATE
    FDO_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    FDO_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  gtest_discover_tests(${T_NAME} PROPERTIES LABELS ${T_LABEL} DISCOVERY_TIMEOUT 60)
endfunction()
