// Writes DESI coadd and redrock FITS files with CFITSIO, HDU by HDU and column by column as
// desispec/redrock do: PRIMARY, FIBERMAP, EXP_FIBERMAP, {B,R,Z}_{WAVELENGTH,FLUX,IVAR,MASK,
// RESOLUTION}, SCORES for coadds; PRIMARY, REDSHIFTS, FIBERMAP, EXP_FIBERMAP for redrock.
// Files are written to "<path>.tmp" and renamed when complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

namespace specvae::sim {

struct FitsKey {
  std::string name;
  std::variant<std::string, std::int64_t, double, bool> value;
  std::string comment;
};

// A binary table built column by column; every column has nrows values.
class FitsTable {
 public:
  explicit FitsTable(std::int64_t nrows = 0) : nrows_(nrows) {}
  std::int64_t nrows() const { return nrows_; }

  void add_u8(const std::string& name, const std::vector<std::uint8_t>& v);
  void add_i16(const std::string& name, const std::vector<std::int16_t>& v);
  void add_i32(const std::string& name, const std::vector<std::int32_t>& v);
  void add_i64(const std::string& name, const std::vector<std::int64_t>& v);
  void add_f32(const std::string& name, const std::vector<float>& v);
  void add_f64(const std::string& name, const std::vector<double>& v);
  // Fixed-width ASCII (FITS "nA"); longer strings are an error.
  void add_string(const std::string& name, int width, const std::vector<std::string>& v);
  // A fixed-length vector per row ("nD"), row-major [nrows * repeat].
  void add_f64_vector(const std::string& name, int repeat, const std::vector<double>& v);

  struct Column {
    std::string name, tform;
    int datatype = 0;  // CFITSIO type code of the in-memory values
    std::int64_t repeat = 1;
    std::vector<std::byte> bytes;      // numeric values
    std::vector<std::string> strings;  // string columns
  };
  const std::vector<Column>& columns() const { return columns_; }

 private:
  void add_numeric(const std::string& name, const std::string& tform, int datatype, std::int64_t repeat,
                   const void* data, std::size_t elem_size, std::size_t count);
  std::int64_t nrows_;
  std::vector<Column> columns_;
};

// One camera of a coadd: the resolution data are the same for every row (one LSF per
// camera), given once as [11 * nwave].
struct CoaddCamera {
  std::string band;                      // "B", "R", "Z"
  const std::vector<double>* wave = nullptr;
  const float* flux = nullptr;           // [nspec * nwave]
  const float* ivar = nullptr;
  const std::int32_t* mask = nullptr;
  const float* resolution = nullptr;     // [ndiag * nwave]
  int ndiag = 11;
};

struct CoaddContent {
  std::int64_t nspec = 0;
  std::vector<FitsKey> primary;
  FitsTable fibermap, exp_fibermap, scores;
  std::vector<CoaddCamera> cameras;
  bool resolution = true;  // write X_RESOLUTION (false: omit it, as QuasarNP's test coadds do)
  bool compress = false;   // RICE_1 tile-compress X_FLUX, X_IVAR (quantised, lossy) and X_MASK
};

struct RedrockContent {
  std::vector<FitsKey> primary;
  FitsTable redshifts, fibermap, exp_fibermap;
};

void write_coadd(const std::filesystem::path& path, const CoaddContent& content);
void write_redrock(const std::filesystem::path& path, const RedrockContent& content);

}  // namespace specvae::sim
