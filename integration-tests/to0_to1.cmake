# TO0/TO1 additions to integration-tests (included from CMakeLists.txt): fdo-loadgen's `to0` and `to1` scenarios.
# to0_to1_test.cpp itself is picked up by the *_test.cpp glob.
target_sources(fdo-loadgen PRIVATE ${CMAKE_CURRENT_LIST_DIR}/loadgen_rv.cpp)
