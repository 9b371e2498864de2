# fdo_add_test(NAME name SOURCES ... LIBS ... LABEL unit|interop|integration|...
#              [SPLIT_LABEL label SPLIT_FILTER gtest-pattern])
# One GoogleTest binary; each TEST() becomes a ctest entry with the label, except those matching SPLIT_FILTER,
# which get SPLIT_LABEL (the PostgreSQL tests of the storage layer: `postgres`).
function(fdo_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;SPLIT_LABEL;SPLIT_FILTER" "SOURCES;LIBS" ${ARGN})
  if(NOT FDO_BUILD_TESTS)
    return()
  endif()
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  foreach(src ${T_SOURCES})
    if(NOT IS_ABSOLUTE ${src})
      set(src ${CMAKE_CURRENT_SOURCE_DIR}/${src})
    endif()
    if(NOT EXISTS ${src})
      message(FATAL_ERROR "test ${T_NAME}: ${src} does not exist")
    endif()
  endforeach()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main fdo_warnings)
  target_compile_definitions(${T_NAME} PRIVATE
    FDO_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    FDO_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(T_SPLIT_LABEL)
    gtest_discover_tests(${T_NAME} TEST_FILTER "-${T_SPLIT_FILTER}" PROPERTIES LABELS ${T_LABEL} DISCOVERY_TIMEOUT 60)
    gtest_discover_tests(${T_NAME} TEST_FILTER "${T_SPLIT_FILTER}" PROPERTIES LABELS ${T_SPLIT_LABEL}
      DISCOVERY_TIMEOUT 60)
  else()
    gtest_discover_tests(${T_NAME} PROPERTIES LABELS ${T_LABEL} DISCOVERY_TIMEOUT 60)
  endif()
endfunction()

# fdo_layer(NAME fdo_x [DEPS public libs...] [PRIVATE_DEPS libs...] [TEST_LIBS libs...] [TEST_LABEL l]
#           [TEST_SPLIT_LABEL l TEST_SPLIT_FILTER pattern])
# One libfdo layer: every *.cpp in the folder except *_test.cpp forms the library; every
# *_test.cpp forms the layer's test binary <name>_test.
function(fdo_layer)
  cmake_parse_arguments(L "" "NAME;TEST_LABEL;TEST_SPLIT_LABEL;TEST_SPLIT_FILTER" "DEPS;PRIVATE_DEPS;TEST_LIBS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
  if(tests)
    list(REMOVE_ITEM srcs ${tests})
  endif()
  if(NOT srcs)
    message(STATUS "layer ${L_NAME}: no sources yet, skipped")
    return()
  endif()
  add_library(${L_NAME} ${srcs})
  # The installed package (packaging/CMakeLists.txt) gives the same include root as include/ and drops our warnings.
  target_include_directories(${L_NAME} PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}>)
  target_link_libraries(${L_NAME} PUBLIC ${L_DEPS} PRIVATE ${L_PRIVATE_DEPS} $<BUILD_INTERFACE:fdo_warnings>)
  set_property(GLOBAL APPEND PROPERTY FDO_LAYERS ${L_NAME})
  if(tests)
    fdo_add_test(NAME ${L_NAME}_test SOURCES ${tests} LIBS ${L_NAME} ${L_TEST_LIBS} LABEL ${L_TEST_LABEL}
      SPLIT_LABEL ${L_TEST_SPLIT_LABEL} SPLIT_FILTER ${L_TEST_SPLIT_FILTER})
  endif()
endfunction()
