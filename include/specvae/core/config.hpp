// The run configuration: one TOML file holding every parameter, the paper's values as
// defaults, `--set section.key=value` overrides, strict validation (unknown keys, wrong types
// and out-of-range values name the key and what was expected), and a stable hash that every
// output file records.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace specvae {

using ConfigValue = std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>,
                                 std::vector<double>, std::vector<std::string>>;

enum class ConfigType { Int, Float, Bool, String, IntList, FloatList, StringList };

// One key of the schema (see src/core/config_schema.cpp for the full list).
struct ConfigKey {
  std::string name;  // "section.key" (or "section.sub.key")
  ConfigType type;
  ConfigValue default_value;
  double min = -1e300;  // inclusive bounds for numbers and for each element of number lists
  double max = 1e300;
  std::vector<std::string> choices;  // allowed strings (empty = any)
  std::string help;
};

const std::vector<ConfigKey>& config_schema();
const ConfigKey* find_config_key(std::string_view name);

class Config {
 public:
  // specvae's defaults: the paper's, but for the training keys README.md names (configs/paper.toml).
  static Config defaults();
  // Defaults overlaid with a TOML file; throws ConfigError naming the file and key.
  static Config from_file(const std::filesystem::path& path);
  // Defaults overlaid with TOML text (origin names it in errors).
  static Config from_toml(std::string_view text, std::string_view origin);

  // "section.key=value"; the value is read as a TOML value, bare words as strings.
  void set(std::string_view assignment);
  void set_value(std::string_view key, const ConfigValue& value);

  std::int64_t get_int(std::string_view key) const;
  double get_double(std::string_view key) const;  // Float keys (Int keys are widened too)
  bool get_bool(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  std::vector<std::int64_t> get_int_list(std::string_view key) const;
  std::vector<double> get_double_list(std::string_view key) const;
  std::vector<std::string> get_string_list(std::string_view key) const;

  // Canonical TOML (sections and keys sorted); identical configs give identical text.
  std::string to_toml() const;
  std::string to_json() const;
  // 16 hex digits: FNV-1a 64 of to_toml().
  std::string hash() const;

  const std::map<std::string, ConfigValue, std::less<>>& values() const { return values_; }

 private:
  const ConfigValue& raw(std::string_view key, ConfigType expected) const;
  std::map<std::string, ConfigValue, std::less<>> values_;
};

// Keys that say how a computation runs, not what it computes: thread count, backend, CPU GEMM
// library, where the training rows are staged, the GPU layer-forward path, logging. Changing
// them moves results by float rounding at most (train.tf32 is not one of them), so a training
// run may resume across them (`specvae run`, `train --resume`) without being redone.
bool is_execution_key(std::string_view key);

// "key=value;" for every key starting with `prefix`, execution keys left out, in key order: what
// a stage's results depend on in that section (completion markers, resumable scratch files).
std::string config_section_text(const Config& config, std::string_view prefix);

// FNV-1a 64-bit, as 16 lower-case hex digits. Used for config, dataset and model hashes.
std::string fnv1a_hex(std::string_view bytes);
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 14695981039346656037ULL);

}  // namespace specvae
