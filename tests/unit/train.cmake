specvae_add_unit_test(test_train ${CMAKE_CURRENT_SOURCE_DIR}/test_train_data_parallel.cpp)
# Needs the HDF5 checkpoints and a GPU: in the main test tree (not the carried GPU binary),
# labelled gpu, skipped where there is no GPU.
specvae_add_unit_test(test_train_checkpoint_backends ${CMAKE_CURRENT_SOURCE_DIR}/test_train_checkpoint_backends.cpp LABEL gpu)
specvae_add_gemm_variants(test_train)
