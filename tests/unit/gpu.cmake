# The backend-aware gradient all-reduce (src/gpu/backend_allreduce.cpp), on in-process ranks.
specvae_add_unit_test(test_gpu_allreduce ${CMAKE_CURRENT_SOURCE_DIR}/test_gpu_backend_allreduce.cpp)
