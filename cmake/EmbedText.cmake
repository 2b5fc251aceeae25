# Writes a text file into a C++ source as a string_view returned by a function:
#   cmake -DIN=file -DOUT=file.cpp -DFUNCTION=ns::name -P EmbedText.cmake
# The output is replaced only when its content changes.
file(READ "${IN}" content)
set(delim "specvae_embedded")
string(FIND "${content}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )${delim}\"")
endif()
string(REGEX MATCH "^(.*)::([^:]+)$" _ "${FUNCTION}")
set(ns "${CMAKE_MATCH_1}")
set(fn "${CMAKE_MATCH_2}")
file(WRITE "${OUT}.tmp" "// Generated from ${IN} by cmake/EmbedText.cmake; do not edit.\n#include <string_view>\nnamespace ${ns} {\nstd::string_view ${fn}() {\n  static constexpr std::string_view text = R\"${delim}(${content})${delim}\";\n  return text;\n}\n}  // namespace ${ns}\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
