specvae_add_mpi_test(test_mpi_train ${CMAKE_CURRENT_SOURCE_DIR}/test_mpi_train.cpp)
