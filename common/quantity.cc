#include "berth/common/quantity.h"

#include <cmath>
#include <string>

namespace berth {
namespace {

struct Suffix {
  const char* text;
  double factor;
};

// Binary, decimal and exponent suffixes, longest first.
constexpr Suffix kSuffixes[] = {
    {"Ki", 1024.0},
    {"Mi", 1048576.0},
    {"Gi", 1073741824.0},
    {"Ti", 1099511627776.0},
    {"Pi", 1125899906842624.0},
    {"Ei", 1152921504606846976.0},
    {"n", 1e-9},
    {"u", 1e-6},
    {"m", 1e-3},
    {"k", 1e3},
    {"M", 1e6},
    {"G", 1e9},
    {"T", 1e12},
    {"P", 1e15},
    {"E", 1e18},
};

Result<double> Parse(std::string_view text) {
  const std::string s(text);
  if (s.empty()) return Error::Invalid("empty quantity");
  size_t pos = 0;
  double number = 0;
  try {
    number = std::stod(s, &pos);
  } catch (const std::exception&) {
    return Error::Invalid("quantity \"" + s + "\": not a number");
  }
  // std::stod also eats "inf", "nan" and hex: Kubernetes does not.
  if (!std::isfinite(number) || s.find_first_of("xXpP") < pos || s.find_first_of("iInN") < pos) {
    return Error::Invalid("quantity \"" + s + "\": not a number");
  }
  const std::string suffix = s.substr(pos);
  if (suffix.empty()) return number;
  for (const Suffix& sfx : kSuffixes) {
    if (suffix == sfx.text) return number * sfx.factor;
  }
  return Error::Invalid("quantity \"" + s + "\": unknown suffix \"" + suffix + "\"");
}

}  // namespace

Result<int64_t> ParseMilliCpu(std::string_view text) {
  BERTH_ASSIGN_OR_RETURN(double v, Parse(text));
  if (v < 0) return Error::Invalid("quantity \"" + std::string(text) + "\": must not be negative");
  if (v > 1e12) return Error::Invalid("quantity \"" + std::string(text) + "\": too large");
  return static_cast<int64_t>(std::ceil(v * 1000 - 1e-9));
}

Result<int64_t> ParseBytes(std::string_view text) {
  BERTH_ASSIGN_OR_RETURN(double v, Parse(text));
  if (v < 0) return Error::Invalid("quantity \"" + std::string(text) + "\": must not be negative");
  if (v > 9e18) return Error::Invalid("quantity \"" + std::string(text) + "\": too large");
  return static_cast<int64_t>(std::ceil(v - 1e-9));
}

}  // namespace berth
