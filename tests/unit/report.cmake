# report: histograms, top/typical rows, the template, the page from a small scored run, and
# the page in a headless browser (skipped where there is none).
specvae_add_unit_test(test_report ${CMAKE_CURRENT_SOURCE_DIR}/test_report.cpp)
