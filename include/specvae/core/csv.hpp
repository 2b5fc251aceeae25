// Comma-separated files as specvae reads and writes them (labels, truth tables, learn scores,
// top outliers): RFC 4180 quoting, cells trimmed of spaces, Windows line ends and a
// spreadsheet's byte-order mark accepted; text cells written safe for spreadsheets.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace specvae::csv {

// The cells of one line, each without surrounding spaces or a trailing '\r'; a line ending in a
// comma has an empty last cell. A cell in double quotes (RFC 4180) may hold commas, and "" in
// it stands for one quote; the quotes are not part of the cell.
inline std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  bool quoted = false, was_quoted = false;
  const auto finish = [&] {
    if (!was_quoted) {
      while (!cell.empty() && (cell.back() == '\r' || cell.back() == ' ')) cell.pop_back();
      while (!cell.empty() && cell.front() == ' ') cell.erase(cell.begin());
    }
    out.push_back(cell);
    cell.clear();
    was_quoted = false;
  };
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"' && cell.find_first_not_of(' ') == std::string::npos) {
      cell.clear();
      quoted = was_quoted = true;
    } else if (c == ',') {
      finish();
    } else if (!(was_quoted && (c == ' ' || c == '\r'))) {
      cell += c;
    }
  }
  if (!line.empty() || !out.empty()) finish();
  return out;
}

// One text cell for a CSV a person may open in a spreadsheet: quoted (RFC 4180) when it holds a
// comma, a quote or a line break, and a leading =, +, -, @, tab or carriage return (which a
// spreadsheet would run as a formula) made inert by a leading apostrophe (OWASP's advice).
inline std::string field(const std::string& text) {
  std::string v = text;
  if (!v.empty() && std::string("=+-@\t\r").find(v.front()) != std::string::npos) v.insert(v.begin(), '\'');
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string q = "\"";
  for (const char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// Drops the UTF-8 byte-order mark that spreadsheet programs put before a file's first line.
inline void strip_bom(std::string& first_line) {
  if (first_line.rfind("\xEF\xBB\xBF", 0) == 0) first_line.erase(0, 3);
}

}  // namespace specvae::csv
