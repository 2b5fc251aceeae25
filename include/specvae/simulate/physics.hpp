// Parametric astrophysics of the simulated objects: galaxy populations with absorption and
// BPT-consistent emission lines, type-1 quasars, stars from B to M, DA white dwarfs and
// cataclysmic variables. Each builder fills an ObjectParams' continuum and line list for a
// given redshift and target r-band fibre flux density.
#pragma once

#include "specvae/simulate/population.hpp"
#include "specvae/simulate/sim_random.hpp"

namespace specvae::sim {

inline constexpr double kSpeedOfLightKms = 299792.458;

enum class GalaxyFlavor { kNormal, kExtremeEmitter, kBroadLineAgnHost };

// `abs_mag`: rest-frame r absolute magnitude (sets the red fraction and metallicity).
// `fiber_flambda`: target mean f_λ over observed 5600-7000 Å (flux units).
void build_galaxy(ObjectParams& p, SimStream& s, double abs_mag, double fiber_flambda, GalaxyFlavor flavor);
void build_qso(ObjectParams& p, SimStream& s, double fiber_flambda);
// Main-sequence star of effective temperature teff (K); sets subtype.
void build_star(ObjectParams& p, SimStream& s, double teff, double fiber_flambda);
void build_white_dwarf(ObjectParams& p, SimStream& s, double fiber_flambda);
void build_cataclysmic_variable(ObjectParams& p, SimStream& s, double fiber_flambda);

// Draws a stellar effective temperature from the mix of spectral types of bright-time
// stellar targets (mostly F-M).
double draw_star_teff(SimStream& s);

}  // namespace specvae::sim
