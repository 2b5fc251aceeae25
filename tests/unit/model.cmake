specvae_add_unit_test(test_model
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_rng.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_backend_ops.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_gradient.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_checkpoint.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_scaling.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_dropout_paths.cpp)
# The dropout-path test reaches the CPU backend's internals (src/model/cpu_backend.hpp).
target_include_directories(test_model PRIVATE ${PROJECT_SOURCE_DIR}/src/model ${PROJECT_SOURCE_DIR}/tests/common)
specvae_add_gemm_variants(test_model)
