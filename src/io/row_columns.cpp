// RowColumns: the generic operations over the per-spectrum column table.
#include "specvae/io/row_columns.hpp"

#include <cctype>
#include <type_traits>

namespace specvae {

void RowColumns::resize_columns(std::size_t n) {
  for_each_column([&](const ColumnSpec&, auto& col) { col.resize(n); });
}

void RowColumns::append_columns(const RowColumns& other) {
  // Both tables visit in the same order: pair them up by position.
  std::vector<const void*> theirs;
  other.for_each_column([&](const ColumnSpec&, const auto& col) { theirs.push_back(&col); });
  std::size_t k = 0;
  for_each_column([&](const ColumnSpec&, auto& col) {
    const auto& src = *static_cast<const std::remove_reference_t<decltype(col)>*>(theirs[k++]);
    col.insert(col.end(), src.begin(), src.end());
  });
}

void RowColumns::move_row(std::size_t from, std::size_t to) {
  if (from == to) return;
  for_each_column([&](const ColumnSpec&, auto& col) { col[to] = std::move(col[from]); });
}

RowColumns RowColumns::take_rows(const std::vector<std::int64_t>& which) const {
  RowColumns out;
  std::vector<const void*> mine;
  for_each_column([&](const ColumnSpec&, const auto& col) { mine.push_back(&col); });
  std::size_t k = 0;
  out.for_each_column([&](const ColumnSpec&, auto& col) {
    const auto& src = *static_cast<const std::remove_reference_t<decltype(col)>*>(mine[k++]);
    col.reserve(which.size());
    for (const std::int64_t i : which) col.push_back(src[static_cast<std::size_t>(i)]);
  });
  return out;
}

const char* RowColumns::first_column_not_of(std::size_t n) const {
  const char* bad = nullptr;
  for_each_column([&](const ColumnSpec& spec, const auto& col) {
    if (!bad && col.size() != n) bad = spec.name;
  });
  return bad;
}

const char* RowColumns::bad_string_at(std::size_t i) const {
  const char* bad = nullptr;
  for_each_column([&](const ColumnSpec& spec, const auto& col) {
    if constexpr (std::is_same_v<std::decay_t<decltype(col)>, std::vector<std::string>>) {
      if (!bad && (col[i].size() > kRowStringWidth || !valid_utf8(col[i]))) bad = spec.name;
    }
  });
  return bad;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c >> 5) == 0x6) {
      n = 1, cp = c & 0x1F;
    } else if ((c >> 4) == 0xE) {
      n = 2, cp = c & 0x0F;
    } else if ((c >> 3) == 0x1E) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + std::size_t(n) >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + std::size_t(k)]);
      if ((d >> 6) != 0x2) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr std::uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += std::size_t(n) + 1;
  }
  return true;
}

std::string upper_name(std::string_view name) {
  std::string s(name);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace specvae
