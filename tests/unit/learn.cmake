# learn: ScoreConverter, anom_func, the random forest, labels CSV, the stage on a catalogue.
specvae_add_unit_test(test_learn ${CMAKE_CURRENT_SOURCE_DIR}/test_learn.cpp)
