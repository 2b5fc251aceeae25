// Config loading, validation, overrides, canonical output and hashing.
#include "specvae/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "specvae/core/error.hpp"

namespace specvae {
namespace {

std::string_view type_name(ConfigType t) {
  switch (t) {
    case ConfigType::Int: return "an integer";
    case ConfigType::Float: return "a number";
    case ConfigType::Bool: return "true or false";
    case ConfigType::String: return "a string";
    case ConfigType::IntList: return "a list of integers";
    case ConfigType::FloatList: return "a list of numbers";
    case ConfigType::StringList: return "a list of strings";
  }
  return "?";
}

std::string expectation(const ConfigKey& key) {
  std::string s(type_name(key.type));
  const bool numeric = key.type == ConfigType::Int || key.type == ConfigType::Float ||
                       key.type == ConfigType::IntList || key.type == ConfigType::FloatList;
  if (numeric) {
    if (key.min > -1e299 && key.max < 1e299) s += fmt::format(" in [{}, {}]", key.min, key.max);
    else if (key.min > -1e299) s += fmt::format(" ≥ {}", key.min);
    else if (key.max < 1e299) s += fmt::format(" ≤ {}", key.max);
  }
  if (!key.choices.empty()) s += fmt::format(" (one of: {})", fmt::join(key.choices, ", "));
  return s;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

[[noreturn]] void unknown_key(std::string_view name, std::string_view origin) {
  std::string best;
  size_t best_d = 4;
  for (const auto& k : config_schema()) {
    size_t d = edit_distance(name, k.name);
    if (d < best_d) best_d = d, best = k.name;
  }
  throw ConfigError(fmt::format("{}: unknown configuration key '{}'{}", origin, name,
                                best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best)));
}

// Converts one TOML node to the key's type, or throws naming the key.
ConfigValue convert(const ConfigKey& key, const toml::node& node, std::string_view origin,
                    std::string_view shown) {
  auto bad = [&]() -> ConfigError {
    return ConfigError(fmt::format("{}: '{}' must be {}, got {}", origin, key.name, expectation(key), shown));
  };
  auto in_range = [&](double v) {
    if (!(v >= key.min && v <= key.max)) throw bad();
  };
  auto as_int = [&](const toml::node& n) -> std::int64_t {
    if (auto v = n.value_exact<std::int64_t>()) {
      in_range(double(*v));
      return *v;
    }
    throw bad();
  };
  auto as_double = [&](const toml::node& n) -> double {
    double v;
    if (auto d = n.value_exact<double>()) v = *d;
    else if (auto i = n.value_exact<std::int64_t>()) v = double(*i);
    else throw bad();
    if (!std::isfinite(v)) throw bad();
    in_range(v);
    return v;
  };
  auto as_string = [&](const toml::node& n) -> std::string {
    auto s = n.value_exact<std::string>();
    if (!s) throw bad();
    if (!key.choices.empty() && std::find(key.choices.begin(), key.choices.end(), *s) == key.choices.end())
      throw bad();
    return *s;
  };
  auto as_array = [&]() -> const toml::array& {
    const toml::array* a = node.as_array();
    if (!a) throw bad();
    return *a;
  };
  switch (key.type) {
    case ConfigType::Int: return as_int(node);
    case ConfigType::Float: return as_double(node);
    case ConfigType::Bool:
      if (auto b = node.value_exact<bool>()) return *b;
      throw bad();
    case ConfigType::String: return as_string(node);
    case ConfigType::IntList: {
      std::vector<std::int64_t> out;
      for (const auto& e : as_array()) out.push_back(as_int(e));
      return out;
    }
    case ConfigType::FloatList: {
      std::vector<double> out;
      for (const auto& e : as_array()) out.push_back(as_double(e));
      return out;
    }
    case ConfigType::StringList: {
      std::vector<std::string> out;
      for (const auto& e : as_array()) out.push_back(as_string(e));
      return out;
    }
  }
  throw bad();
}

void overlay(Config& config, const toml::table& table, const std::string& prefix, std::string_view origin) {
  for (const auto& [k, node] : table) {
    std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const toml::table* sub = node.as_table(); sub && !find_config_key(name)) {
      overlay(config, *sub, name, origin);
      continue;
    }
    const ConfigKey* key = find_config_key(name);
    if (!key) unknown_key(name, origin);
    std::ostringstream shown;
    node.visit([&](const auto& v) { shown << v; });
    config.set_value(name, convert(*key, node, origin, shown.str()));
  }
}

std::string format_double(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string format_value(const ConfigValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::int64_t>) return fmt::format("{}", x);
        else if constexpr (std::is_same_v<X, double>) return format_double(x);
        else if constexpr (std::is_same_v<X, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<X, std::string>) return quote(x);
        else if constexpr (std::is_same_v<X, std::vector<std::int64_t>>) return fmt::format("[{}]", fmt::join(x, ", "));
        else if constexpr (std::is_same_v<X, std::vector<double>>) {
          std::vector<std::string> parts;
          for (double d : x) parts.push_back(format_double(d));
          return fmt::format("[{}]", fmt::join(parts, ", "));
        } else {
          std::vector<std::string> parts;
          for (const auto& s : x) parts.push_back(quote(s));
          return fmt::format("[{}]", fmt::join(parts, ", "));
        }
      },
      v);
}

}  // namespace

Config Config::defaults() {
  Config c;
  for (const auto& key : config_schema()) c.values_.emplace(key.name, key.default_value);
  return c;
}

Config Config::from_toml(std::string_view text, std::string_view origin) {
  Config c = defaults();
  toml::table table;
  try {
    table = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError(fmt::format("{}:{}:{}: TOML syntax error: {}", origin, where.line, where.column, e.description()));
  }
  overlay(c, table, "", origin);
  return c;
}

Config Config::from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("cannot open configuration file '{}'", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  return from_toml(text.str(), path.string());
}

void Config::set(std::string_view assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos)
    throw ConfigError(fmt::format("--set '{}': expected section.key=value", assignment));
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  std::string name(trim(assignment.substr(0, eq)));
  std::string text(trim(assignment.substr(eq + 1)));
  const ConfigKey* key = find_config_key(name);
  if (!key) unknown_key(name, "--set");
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    // A bare word is a string, unless it is quoted wrongly.
    toml::table t;
    t.insert("v", text);
    parsed = std::move(t);
  }
  if (key->type == ConfigType::String && !parsed["v"].is_string()) {
    // "--set run.out_dir=123" means the string "123".
    toml::table t;
    t.insert("v", text);
    parsed = std::move(t);
  }
  set_value(name, convert(*key, *parsed.get("v"), "--set", fmt::format("'{}'", text)));
}

void Config::set_value(std::string_view key, const ConfigValue& value) {
  auto it = values_.find(key);
  SPECVAE_CHECK(it != values_.end(), "config key {} is not in the schema", key);
  it->second = value;
}

const ConfigValue& Config::raw(std::string_view key, ConfigType expected) const {
  const ConfigKey* k = find_config_key(key);
  SPECVAE_CHECK(k != nullptr, "config key '{}' is not in the schema", key);
  SPECVAE_CHECK(k->type == expected || (expected == ConfigType::Float && k->type == ConfigType::Int),
                "config key '{}' read as the wrong type", key);
  return values_.find(key)->second;
}

std::int64_t Config::get_int(std::string_view key) const { return std::get<std::int64_t>(raw(key, ConfigType::Int)); }
double Config::get_double(std::string_view key) const {
  const auto& v = raw(key, ConfigType::Float);
  if (auto* i = std::get_if<std::int64_t>(&v)) return double(*i);
  return std::get<double>(v);
}
bool Config::get_bool(std::string_view key) const { return std::get<bool>(raw(key, ConfigType::Bool)); }
const std::string& Config::get_string(std::string_view key) const {
  return std::get<std::string>(raw(key, ConfigType::String));
}
std::vector<std::int64_t> Config::get_int_list(std::string_view key) const {
  return std::get<std::vector<std::int64_t>>(raw(key, ConfigType::IntList));
}
std::vector<double> Config::get_double_list(std::string_view key) const {
  return std::get<std::vector<double>>(raw(key, ConfigType::FloatList));
}
std::vector<std::string> Config::get_string_list(std::string_view key) const {
  return std::get<std::vector<std::string>>(raw(key, ConfigType::StringList));
}

std::string Config::to_toml() const {
  // Group by section (everything before the last dot); std::map keeps both levels sorted.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections;
  for (const auto& [name, value] : values_) {
    auto dot = name.rfind('.');
    sections[name.substr(0, dot)].emplace_back(name.substr(dot + 1), format_value(value));
  }
  std::string out;
  for (const auto& [section, entries] : sections) {
    if (!out.empty()) out += "\n";
    out += "[" + section + "]\n";
    for (const auto& [k, v] : entries) out += k + " = " + v + "\n";
  }
  return out;
}

std::string Config::to_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, value] : values_) {
    nlohmann::ordered_json* node = &j;
    size_t start = 0;
    for (size_t dot; (dot = name.find('.', start)) != std::string::npos; start = dot + 1)
      node = &(*node)[name.substr(start, dot - start)];
    std::visit([&](const auto& x) { (*node)[name.substr(start)] = x; }, value);
  }
  return j.dump(2);
}

std::string Config::hash() const { return fnv1a_hex(to_toml()); }

bool is_execution_key(std::string_view key) {
  return key == "train.threads" || key == "train.backend" || key == "train.gemm" || key == "train.device_shard" ||
         key == "train.cuda_epilogue" || key.starts_with("runtime.");
}

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string fnv1a_hex(std::string_view bytes) { return fmt::format("{:016x}", fnv1a64(bytes)); }

std::string config_section_text(const Config& config, std::string_view prefix) {
  std::string text;
  for (const auto& [key, value] : config.values()) {
    if (!key.starts_with(prefix) || is_execution_key(key)) continue;
    text += key + "=" +
            std::visit(
                [](const auto& x) -> std::string {
                  using T = std::decay_t<decltype(x)>;
                  if constexpr (std::is_same_v<T, std::string>) return x;
                  else if constexpr (std::is_same_v<T, double>) return fmt::format("{:.17g}", x);
                  else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t>) return fmt::format("{}", x);
                  else return fmt::format("[{}]", fmt::join(x, ","));
                },
                value) +
            ";";
  }
  return text;
}

}  // namespace specvae
