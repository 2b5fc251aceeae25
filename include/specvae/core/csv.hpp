// Comma-separated files as specvae reads them (labels, truth tables, learn scores): no quoting,
// cells trimmed of spaces, Windows line ends and a spreadsheet's byte-order mark accepted.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace specvae::csv {

// The cells of one line, each without surrounding spaces or a trailing '\r'; a line ending in a
// comma has an empty last cell.
inline std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) {
    while (!cell.empty() && (cell.back() == '\r' || cell.back() == ' ')) cell.pop_back();
    while (!cell.empty() && cell.front() == ' ') cell.erase(cell.begin());
    out.push_back(cell);
  }
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

// Drops the UTF-8 byte-order mark that spreadsheet programs put before a file's first line.
inline void strip_bom(std::string& first_line) {
  if (first_line.rfind("\xEF\xBB\xBF", 0) == 0) first_line.erase(0, 3);
}

}  // namespace specvae::csv
