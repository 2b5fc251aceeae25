// Which spectra enter the dataset, and why the others did not: the paper's cuts
// (0 ≤ z ≤ 0.3, median pixel S/N > 5) plus optional ZWARN, COADD_FIBERSTATUS, SPECTYPE,
// OBJTYPE and target-bit filters (ingest.* keys). Every rejection has one reason, the first
// that applies in the order of `Reject`.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "specvae/core/config.hpp"
#include "specvae/io/desi.hpp"

namespace specvae::ingest {

enum class Reject : int { none = 0, objtype, fiberstatus, target, spectype, zwarn, z_range, no_data, snr, duplicate, count };

// Which of several rows with one key (TARGETID, SURVEY, PROGRAM; or TARGETID alone with
// ingest.dedup = "targetid") is kept, after every other cut.
inline constexpr const char* kDedupRule =
    "of rows sharing the key, the one with ZWARN == 0, then the highest median S/N, then the first in input order";
inline constexpr int kRejectReasons = static_cast<int>(Reject::count);

// The name used in the dataset attributes (rejected_<name>), e.g. "z_range".
const char* reject_name(Reject r);

struct SelectionRules {
  double z_min = 0.0, z_max = 0.3, snr_min = 5.0;
  bool require_zwarn_zero = false;
  std::int64_t fiberstatus_mask = 0;  // 0 = off
  std::vector<std::string> spectypes, objtypes;  // empty = all
  std::string target_column;          // DESI/BGS/MWS/SCND_TARGET, SV1_/SV2_/SV3_ forms, or empty
  std::int64_t target_mask = 0;
  std::uint32_t bad_mask_bits = 0x7FFFFFFF;
  bool one_row_per_targetid = false;  // ingest.dedup = "targetid" (else per TARGETID, SURVEY, PROGRAM)

  // Reads the ingest.* keys; an unsupported target column is a ConfigError.
  static SelectionRules from_config(const Config& cfg);
  // One line per active cut, for the dataset's `selection` attribute.
  std::string describe() const;

  // The cuts that need only the catalogue (FIBERMAP row, may be null without FIBERMAP, and
  // the redshift). The no_data and snr cuts come after the spectrum is measured.
  Reject select_catalogue(const FiberInfo* fiber, const Redshift& z) const;
};

// Rejections counted by reason.
struct RejectCounts {
  std::array<std::int64_t, kRejectReasons> n{};
  void add(Reject r) { ++n[static_cast<int>(r)]; }
  std::int64_t operator[](Reject r) const { return n[static_cast<int>(r)]; }
};

}  // namespace specvae::ingest
