specvae_add_unit_test(test_desi_reader
  ${CMAKE_CURRENT_SOURCE_DIR}/test_desi_reader_real.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_desi_reader_errors.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_desi_reader_redshifts.cpp)
