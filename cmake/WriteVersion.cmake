# Script mode: writes OUTPUT (version_info.hpp) with VERSION and the git commit of SOURCE_DIR,
# touching the file only when its content changes.
set(commit "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty --abbrev=12
                  WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE out OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND out)
    set(commit ${out})
  endif()
endif()
set(content "// Generated at build time by cmake/WriteVersion.cmake. Do not edit.
#pragma once
#define SPECVAE_VERSION_STRING \"${VERSION}\"
#define SPECVAE_GIT_COMMIT \"${commit}\"
")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE ${OUTPUT} "${content}")
endif()
