# TO2 additions to integration-tests (included from CMakeLists.txt): fdo-loadgen's `to2` scenario.
# to2_load_test.cpp itself is picked up by the *_test.cpp glob.
target_sources(fdo-loadgen PRIVATE ${CMAKE_CURRENT_LIST_DIR}/loadgen_to2.cpp)
