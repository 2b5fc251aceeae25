# score + merge under mpiexec -np 2 and 3 (a rank without rows included).
specvae_add_mpi_test(test_mpi_score ${CMAKE_CURRENT_SOURCE_DIR}/test_mpi_score.cpp)
specvae_add_gemm_variants(test_mpi_score MPI)
