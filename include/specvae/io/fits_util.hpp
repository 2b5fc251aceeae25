// A small read-only CFITSIO wrapper for files a user gave us: HDUs found by EXTNAME, declared
// types checked against what the caller expects, whole row blocks read in one call, and every
// CFITSIO failure turned into an InputError naming the file, the HDU and what was being read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace specvae::fits {

// Shape and pixel type of the current image HDU (plain or tile-compressed).
struct ImageInfo {
  int bitpix = 0;                 // BITPIX as stored (ZBITPIX for compressed images)
  int equiv_bitpix = 0;           // BITPIX after BZERO/BSCALE (e.g. ULONG_IMG = 40 for uint32)
  std::vector<std::int64_t> shape;  // NAXIS1, NAXIS2, ... (FITS order: fastest axis first)
  bool compressed = false;
};

// A binary-table column: number, declared TFORM, CFITSIO type code after TZERO/TSCAL, repeat.
struct ColumnInfo {
  std::string name;
  int number = 0;
  std::string tform;
  int typecode = 0;     // TLONGLONG, TDOUBLE, TINT, TSTRING, TLOGICAL, ... (fitsio.h)
  std::int64_t repeat = 0;
  std::int64_t width = 0;
};

// The CFITSIO type codes this header's users ask for (values from fitsio.h, checked there).
enum class ColType : int { logical = 14, string = 16, int16 = 21, int32 = 41, float32 = 42,
                           int64 = 81, float64 = 82 };

class FitsFile {
 public:
  // Opens without CFITSIO's extended file-name syntax (so "[" in a path is just a character),
  // indexes every HDU by EXTNAME and checks the file is not shorter than its headers say.
  explicit FitsFile(std::filesystem::path path);
  ~FitsFile();
  FitsFile(const FitsFile&) = delete;
  FitsFile& operator=(const FitsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  bool has_hdu(std::string_view extname) const;
  const std::vector<std::string>& hdu_names() const { return names_; }  // index = HDU number - 1

  // Makes `extname` the current HDU; InputError "missing HDU" when it is not in the file.
  void move_to(std::string_view extname);
  void move_to_primary();
  const std::string& current_hdu() const { return current_; }

  // Current HDU as an image / a binary table; InputError when it is the other kind.
  ImageInfo image_info();
  std::int64_t table_rows();

  // Column of the current table; nullopt when absent. `require_column` throws when absent or
  // when its type after scaling is not `type` (message gives the TFORM found and expected).
  std::optional<ColumnInfo> find_column(std::string_view name);
  ColumnInfo require_column(std::string_view name, ColType type, std::string_view expected_tform);
  void check_column_type(const ColumnInfo& col, ColType type, std::string_view expected_tform);

  // Rows [first_row, first_row + n) of a scalar column (repeat 1), one CFITSIO call each.
  void read_column(const ColumnInfo& col, std::int64_t first_row, std::int64_t n, std::int64_t* out);
  void read_column(const ColumnInfo& col, std::int64_t first_row, std::int64_t n, std::int32_t* out);
  void read_column(const ColumnInfo& col, std::int64_t first_row, std::int64_t n, double* out);
  void read_column_logical(const ColumnInfo& col, std::int64_t first_row, std::int64_t n, char* out);
  // String column: trailing blanks removed.
  void read_column(const ColumnInfo& col, std::int64_t first_row, std::int64_t n,
                   std::vector<std::string>& out);

  // Elements [first, first + n) of the current image in FITS order (for a 2-d image row r
  // of width w starts at r*w), one CFITSIO call; works for tile-compressed images too and
  // only decompresses the tiles it needs.
  void read_image(std::int64_t first, std::int64_t n, float* out);
  void read_image(std::int64_t first, std::int64_t n, double* out);
  void read_image_int32(std::int64_t first, std::int64_t n, std::int32_t* out);  // bit-preserving for uint32

  // Keyword of the current HDU as a string (quotes and trailing blanks removed); nullopt if absent.
  std::optional<std::string> read_key_string(const char* key);

  // Throws InputError "<file>: HDU <name>: <what>" (+ CFITSIO's message when status != 0).
  [[noreturn]] void fail(std::string_view what, int status = 0) const;

 private:
  void check(int status, std::string_view what) const {
    if (status != 0) [[unlikely]] fail(what, status);
  }
  void index_hdus(std::int64_t file_size);
  void read_image_typed(int datatype, std::int64_t first, std::int64_t n, void* out);

  std::filesystem::path path_;
  void* handle_ = nullptr;  // CFITSIO's fitsfile* (an anonymous struct: fitsio.h stays out of here)
  std::vector<std::string> names_;
  std::map<std::string, int, std::less<>> index_;  // EXTNAME (upper case) -> HDU number (1-based)
  std::string current_;
};

}  // namespace specvae::fits
