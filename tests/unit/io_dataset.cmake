specvae_add_unit_test(test_io_dataset ${CMAKE_CURRENT_SOURCE_DIR}/test_io_dataset.cpp)
