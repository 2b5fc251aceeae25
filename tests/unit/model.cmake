specvae_add_unit_test(test_model
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_rng.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_backend_ops.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_gradient.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_checkpoint.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_model_scaling.cpp)
