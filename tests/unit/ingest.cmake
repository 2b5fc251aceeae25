# ingest: resampling, per-spectrum preparation, PCA infill, and the stage on small synthetic
# and real DESI files.
specvae_add_unit_test(test_ingest
  ${CMAKE_CURRENT_SOURCE_DIR}/test_ingest_resample.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_ingest_pca.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_ingest_stage.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_ingest_real.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_ingest_prep.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_ingest_cli.cpp)
