// Selection rules from the config, their description, and the catalogue cuts.
#include "specvae/ingest/selection.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "specvae/core/error.hpp"

namespace specvae::ingest {

namespace {
// Index of a target-bit column among FiberInfo's fields (0–3 main survey, 4–7 the file's SV
// survey, whichever of SV1/SV2/SV3 it is), or -1.
int target_field(const std::string& column) {
  static const char* kinds[4] = {"DESI_TARGET", "BGS_TARGET", "MWS_TARGET", "SCND_TARGET"};
  for (int k = 0; k < 4; ++k) {
    if (column == kinds[k]) return k;
    for (const char* sv : {"SV1_", "SV2_", "SV3_"})
      if (column == std::string(sv) + kinds[k]) return 4 + k;
  }
  return -1;
}
}  // namespace

const char* reject_name(Reject r) {
  switch (r) {
    case Reject::none: return "none";
    case Reject::objtype: return "objtype";
    case Reject::fiberstatus: return "fiberstatus";
    case Reject::target: return "target";
    case Reject::spectype: return "spectype";
    case Reject::zwarn: return "zwarn";
    case Reject::z_range: return "z_range";
    case Reject::no_data: return "no_data";
    case Reject::snr: return "snr";
    case Reject::duplicate: return "duplicate";
    case Reject::count: break;
  }
  return "?";
}

SelectionRules SelectionRules::from_config(const Config& cfg) {
  SelectionRules s;
  s.z_min = cfg.get_double("ingest.z_min");
  s.z_max = cfg.get_double("ingest.z_max");
  s.snr_min = cfg.get_double("ingest.snr_min");
  s.require_zwarn_zero = cfg.get_bool("ingest.require_zwarn_zero");
  s.fiberstatus_mask = cfg.get_int("ingest.fiberstatus_mask");
  s.spectypes = cfg.get_string_list("ingest.spectypes");
  s.objtypes = cfg.get_string_list("ingest.objtypes");
  s.target_column = cfg.get_string("ingest.target_column");
  s.target_mask = cfg.get_int("ingest.target_mask");
  s.bad_mask_bits = static_cast<std::uint32_t>(cfg.get_int("ingest.bad_mask_bits"));
  s.one_row_per_targetid = cfg.get_string("ingest.dedup") == "targetid";
  if (s.z_min > s.z_max) throw ConfigError(fmt::format("ingest.z_min = {} is above ingest.z_max = {}", s.z_min, s.z_max));
  if (!s.target_column.empty() && target_field(s.target_column) < 0)
    throw ConfigError(fmt::format("ingest.target_column = \"{}\": supported columns are DESI_TARGET, BGS_TARGET, "
                                  "MWS_TARGET, SCND_TARGET and their SV1_/SV2_/SV3_ forms",
                                  s.target_column));
  if (!s.target_column.empty() && s.target_mask == 0)
    throw ConfigError(fmt::format("ingest.target_column = \"{}\" needs a non-zero ingest.target_mask", s.target_column));
  return s;
}

std::string SelectionRules::describe() const {
  std::string d = fmt::format("{} <= Z <= {}\nmedian pixel S/N > {} (flux*sqrt(ivar) over good observed pixels "
                              "inside the rest-frame window)\n",
                              z_min, z_max, snr_min);
  if (require_zwarn_zero) d += "ZWARN == 0\n";
  if (fiberstatus_mask != 0) d += fmt::format("(COADD_FIBERSTATUS & {:#x}) == 0\n", fiberstatus_mask);
  if (!spectypes.empty()) d += fmt::format("SPECTYPE in [{}]\n", fmt::join(spectypes, ", "));
  if (!objtypes.empty()) d += fmt::format("OBJTYPE in [{}]\n", fmt::join(objtypes, ", "));
  if (!target_column.empty()) d += fmt::format("({} & {:#x}) != 0\n", target_column, target_mask);
  d += fmt::format("bad pixel: MASK & {:#x}, ivar <= 0, flux == 0 or non-finite\n", bad_mask_bits);
  d += fmt::format("one row per {}: {}", one_row_per_targetid ? "TARGETID" : "(TARGETID, SURVEY, PROGRAM)", kDedupRule);
  return d;
}

Reject SelectionRules::select_catalogue(const FiberInfo* fiber, const Redshift& z) const {
  auto in = [](const std::vector<std::string>& list, const std::string& v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  if (fiber) {
    if (!in(objtypes, fiber->objtype)) return Reject::objtype;
    if (fiberstatus_mask != 0 && (fiber->coadd_fiberstatus & fiberstatus_mask) != 0) return Reject::fiberstatus;
    if (!target_column.empty()) {
      const std::int64_t fields[8] = {fiber->desi_target,    fiber->bgs_target,    fiber->mws_target,
                                      fiber->scnd_target,    fiber->sv_desi_target, fiber->sv_bgs_target,
                                      fiber->sv_mws_target,  fiber->sv_scnd_target};
      const std::int64_t bits = fields[target_field(target_column)];
      if ((bits & target_mask) == 0) return Reject::target;
    }
  } else if (!objtypes.empty() || fiberstatus_mask != 0 || !target_column.empty()) {
    return Reject::objtype;  // the caller turns a missing FIBERMAP into an InputError first
  }
  if (!in(spectypes, z.spectype)) return Reject::spectype;
  if (require_zwarn_zero && z.zwarn != 0) return Reject::zwarn;
  if (!std::isfinite(z.z) || z.z < z_min || z.z > z_max) return Reject::z_range;
  return Reject::none;
}

}  // namespace specvae::ingest
