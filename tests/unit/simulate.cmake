specvae_add_unit_test(test_simulate
  ${CMAKE_CURRENT_SOURCE_DIR}/test_simulate_physics.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_simulate_population.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_simulate_files.cpp)
