# ingest under mpiexec -np 2 and 3: identical datasets for any rank count, a rank without rows.
specvae_add_mpi_test(test_mpi_ingest ${CMAKE_CURRENT_SOURCE_DIR}/test_mpi_ingest.cpp)
