// Stat file parsers and Cgroup::ReadStats.
#include "berth/cgroups/stats.h"

#include <charconv>
#include <cstdlib>

#include "berth/common/file.h"

namespace berth::cgroups {
namespace {

template <typename Fn>
void ForEachLine(std::string_view text, Fn fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = Trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (!line.empty()) fn(line);
  }
}

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ToU64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ToDouble(std::string_view s, double& out) {
  // from_chars for double is missing in libstdc++ 12 with clang 14; strtod on
  // a NUL-terminated copy instead.
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && errno == 0 && end == copy.c_str() + copy.size();
}

Error BadLine(std::string_view what, std::string_view line) {
  return Error::Invalid("parse " + std::string(what) + ": bad line \"" + std::string(line) + "\"");
}

// A missing file (controller not enabled, no PSI) is "absent", not an error:
// ENOENT when the file does not exist, EOPNOTSUPP when PSI is disabled
// (psi=0 on the kernel command line) and the file exists but cannot be read.
Result<std::optional<std::string>> ReadOptional(const std::filesystem::path& path) {
  auto r = ReadFile(path);
  if (r.ok()) return std::optional<std::string>(std::move(r).value());
  int err = r.error().err();
  if (err == ENOENT || err == EOPNOTSUPP) return std::optional<std::string>();
  return std::move(r).error();
}

}  // namespace

Result<std::map<std::string, uint64_t>> ParseFlatKeyed(std::string_view text) {
  std::map<std::string, uint64_t> out;
  std::optional<Error> bad;
  ForEachLine(text, [&](std::string_view line) {
    if (bad) return;
    auto w = Words(line);
    uint64_t v = 0;
    if (w.size() != 2 || !ToU64(w[1], v)) {
      bad = BadLine("flat keyed file", line);
      return;
    }
    out[std::string(w[0])] = v;
  });
  if (bad) return std::move(*bad);
  return out;
}

Result<CpuStats> ParseCpuStat(std::string_view text) {
  BERTH_ASSIGN_OR_RETURN(auto kv, ParseFlatKeyed(text).Wrap("cpu.stat"));
  CpuStats s;
  auto get = [&kv](const char* key, uint64_t& field) {
    auto it = kv.find(key);
    if (it != kv.end()) field = it->second;
  };
  get("usage_usec", s.usage_usec);
  get("user_usec", s.user_usec);
  get("system_usec", s.system_usec);
  get("nr_periods", s.nr_periods);
  get("nr_throttled", s.nr_throttled);
  get("throttled_usec", s.throttled_usec);
  return s;
}

Result<std::vector<IoDeviceStats>> ParseIoStat(std::string_view text) {
  std::vector<IoDeviceStats> out;
  std::optional<Error> bad;
  ForEachLine(text, [&](std::string_view line) {
    if (bad) return;
    auto w = Words(line);
    IoDeviceStats d;
    size_t colon = w.empty() ? std::string_view::npos : w[0].find(':');
    if (colon == std::string_view::npos || !ToU64(w[0].substr(0, colon), d.major) ||
        !ToU64(w[0].substr(colon + 1), d.minor)) {
      bad = BadLine("io.stat", line);
      return;
    }
    for (size_t i = 1; i < w.size(); ++i) {
      size_t eq = w[i].find('=');
      if (eq == std::string_view::npos) {
        bad = BadLine("io.stat", line);
        return;
      }
      std::string_view key = w[i].substr(0, eq);
      uint64_t* field = key == "rbytes"   ? &d.rbytes
                        : key == "wbytes" ? &d.wbytes
                        : key == "rios"   ? &d.rios
                        : key == "wios"   ? &d.wios
                        : key == "dbytes" ? &d.dbytes
                        : key == "dios"   ? &d.dios
                                          : nullptr;
      // Other keys (cost.* with iocost, some decimal) are not in IoDeviceStats.
      if (field == nullptr) continue;
      if (!ToU64(w[i].substr(eq + 1), *field)) {
        bad = BadLine("io.stat", line);
        return;
      }
    }
    out.push_back(d);
  });
  if (bad) return std::move(*bad);
  return out;
}

Result<Pressure> ParsePressure(std::string_view text) {
  Pressure p;
  std::optional<Error> bad;
  ForEachLine(text, [&](std::string_view line) {
    if (bad) return;
    auto w = Words(line);
    if (w.empty() || (w[0] != "some" && w[0] != "full")) {
      bad = BadLine("pressure", line);
      return;
    }
    PressureLine pl;
    bool have_total = false;
    for (size_t i = 1; i < w.size(); ++i) {
      size_t eq = w[i].find('=');
      if (eq == std::string_view::npos) {
        bad = BadLine("pressure", line);
        return;
      }
      std::string_view key = w[i].substr(0, eq), val = w[i].substr(eq + 1);
      bool ok = true;
      if (key == "avg10")
        ok = ToDouble(val, pl.avg10);
      else if (key == "avg60")
        ok = ToDouble(val, pl.avg60);
      else if (key == "avg300")
        ok = ToDouble(val, pl.avg300);
      else if (key == "total")
        ok = have_total = ToU64(val, pl.total_usec);
      if (!ok) {
        bad = BadLine("pressure", line);
        return;
      }
    }
    if (!have_total) {
      bad = BadLine("pressure", line);
      return;
    }
    (w[0] == "some" ? p.some : p.full) = pl;
  });
  if (bad) return std::move(*bad);
  return p;
}

Result<std::optional<uint64_t>> ParseMaxOrNumber(std::string_view text) {
  std::string_view t = Trim(text);
  if (t == "max") return std::optional<uint64_t>();
  BERTH_ASSIGN_OR_RETURN(uint64_t v, ParseNumber(t));
  return std::optional<uint64_t>(v);
}

Result<CpuMax> ParseCpuMax(std::string_view text) {
  std::string_view t = Trim(text);
  const size_t sp = t.find(' ');
  if (sp == std::string_view::npos) {
    return Error::Invalid("cpu.max: expected \"<quota|max> <period>\", got \"" + std::string(t) +
                          "\"");
  }
  CpuMax m;
  BERTH_ASSIGN_OR_RETURN(m.quota_usec, ParseMaxOrNumber(t.substr(0, sp)));
  BERTH_ASSIGN_OR_RETURN(m.period_usec, ParseNumber(t.substr(sp + 1)));
  return m;
}

size_t CountLines(std::string_view text) {
  size_t n = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (!Trim(text.substr(pos, end - pos)).empty()) ++n;
    pos = end + 1;
  }
  return n;
}

Result<uint64_t> ParseNumber(std::string_view text) {
  std::string_view t = Trim(text);
  uint64_t v = 0;
  if (!ToU64(t, v)) return Error::Invalid("not a number: \"" + std::string(t) + "\"");
  return v;
}

Result<Stats> Cgroup::ReadStats() const {
  const std::filesystem::path d = dir();
  Stats s;
  auto read = [&d](const char* name) -> Result<std::optional<std::string>> {
    return ReadOptional(d / name).Wrap("read stats of " + d.string());
  };
  auto ctx = [&d](const char* name) { return "parse " + (d / name).string(); };

  BERTH_ASSIGN_OR_RETURN(auto cpu, read("cpu.stat"));
  if (cpu) {
    BERTH_ASSIGN_OR_RETURN(s.cpu, ParseCpuStat(*cpu).Wrap(ctx("cpu.stat")));
  }

  BERTH_ASSIGN_OR_RETURN(auto mem_current, read("memory.current"));
  if (mem_current) {
    MemoryStats m;
    BERTH_ASSIGN_OR_RETURN(m.current, ParseNumber(*mem_current).Wrap(ctx("memory.current")));
    BERTH_ASSIGN_OR_RETURN(auto swap, read("memory.swap.current"));
    if (swap) {
      BERTH_ASSIGN_OR_RETURN(m.swap_current, ParseNumber(*swap).Wrap(ctx("memory.swap.current")));
    }
    BERTH_ASSIGN_OR_RETURN(auto stat, read("memory.stat"));
    if (stat) {
      BERTH_ASSIGN_OR_RETURN(m.stat, ParseFlatKeyed(*stat).Wrap(ctx("memory.stat")));
    }
    BERTH_ASSIGN_OR_RETURN(auto events, read("memory.events"));
    if (events) {
      BERTH_ASSIGN_OR_RETURN(m.events, ParseFlatKeyed(*events).Wrap(ctx("memory.events")));
    }
    s.memory = std::move(m);
  }

  BERTH_ASSIGN_OR_RETURN(auto pids_current, read("pids.current"));
  if (pids_current) {
    BERTH_ASSIGN_OR_RETURN(s.pids_current, ParseNumber(*pids_current).Wrap(ctx("pids.current")));
  }
  BERTH_ASSIGN_OR_RETURN(auto pids_max, read("pids.max"));
  if (pids_max) {
    BERTH_ASSIGN_OR_RETURN(s.pids_max, ParseMaxOrNumber(*pids_max).Wrap(ctx("pids.max")));
  }

  BERTH_ASSIGN_OR_RETURN(auto io, read("io.stat"));
  if (io) {
    BERTH_ASSIGN_OR_RETURN(s.io, ParseIoStat(*io).Wrap(ctx("io.stat")));
  }

  struct Psi {
    const char* file;
    std::optional<Pressure>* out;
  };
  for (const Psi& p :
       {Psi{"cpu.pressure", &s.cpu_pressure}, Psi{"memory.pressure", &s.memory_pressure},
        Psi{"io.pressure", &s.io_pressure}}) {
    BERTH_ASSIGN_OR_RETURN(auto text, read(p.file));
    if (text) {
      BERTH_ASSIGN_OR_RETURN(*p.out, ParsePressure(*text).Wrap(ctx(p.file)));
    }
  }
  return s;
}

}  // namespace berth::cgroups
