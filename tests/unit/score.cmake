# score: exact kNN and LOF against scikit-learn, distributed LOF, score shards.
specvae_add_unit_test(test_score
  ${CMAKE_CURRENT_SOURCE_DIR}/test_lof_exact.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_lof_distributed.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_score_rows.cpp)
specvae_add_gemm_variants(test_score)
