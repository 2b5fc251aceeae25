# merge: coverage checks, ranking, writers (FITS read back by astropy), detection quality.
specvae_add_unit_test(test_merge ${CMAKE_CURRENT_SOURCE_DIR}/test_merge_catalogue.cpp)
