# Records the git commit the build came from, for --version and every output file's provenance.
# The header is regenerated at every build (and rewritten only when the commit changed), so a
# rebuild after a new commit never reports a stale one.
set(SPECVAE_VERSION_HEADER ${CMAKE_BINARY_DIR}/generated/specvae/core/version_info.hpp)
add_custom_target(specvae_version ALL
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUTPUT=${SPECVAE_VERSION_HEADER}
          -DVERSION=${PROJECT_VERSION} -P ${CMAKE_CURRENT_LIST_DIR}/WriteVersion.cmake
  BYPRODUCTS ${SPECVAE_VERSION_HEADER}
  COMMENT "Stamping the git commit into version_info.hpp")
# A first copy at configure time, so the summary can print the commit.
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUTPUT=${SPECVAE_VERSION_HEADER}
                -DVERSION=${PROJECT_VERSION} -P ${CMAKE_CURRENT_LIST_DIR}/WriteVersion.cmake)
file(STRINGS ${SPECVAE_VERSION_HEADER} _commit_line REGEX "SPECVAE_GIT_COMMIT")
string(REGEX REPLACE ".*SPECVAE_GIT_COMMIT \"([^\"]*)\".*" "\\1" SPECVAE_GIT_COMMIT "${_commit_line}")
