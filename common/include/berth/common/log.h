// Process-wide structured logging over spdlog.
//
//   log::Info("container started", {{"id", id}, {"pid", pid}});
//   text: 2026-11-23T06:00:00.123Z info container started id=web pid=42
//   json: {"level":"info","msg":"container started","time":"...","id":"web","pid":"42"}
//
// Init() may be called again to change level, format or destination; the
// logging calls themselves are thread-safe. Before Init, logs go to stderr as
// text at info level.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "berth/common/error.h"

namespace berth::log {

enum class Level { kDebug, kInfo, kWarn, kError };
// kJournal: "<priority>level msg key=value" without a timestamp, for a
// stderr connected to journald (sd-daemon(3) priority prefixes, so
// `journalctl -p warning` filters by level).
enum class Format { kText, kJson, kJournal };

struct Options {
  Level level = Level::kInfo;
  Format format = Format::kText;
  std::string path;  // empty: stderr
};

Status Init(const Options& options);
Result<Level> ParseLevel(std::string_view name);

// A key=value field; numbers and strings convert implicitly.
struct Field {
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}

  std::string_view key;
  std::string value;
};

using Fields = std::initializer_list<Field>;

bool Enabled(Level level);
// True when stderr is the journal stream systemd set up ($JOURNAL_STREAM
// names its device and inode).
bool StderrIsJournal();
void Write(Level level, std::string_view msg, Fields fields = {});

inline void Debug(std::string_view msg, Fields f = {}) { Write(Level::kDebug, msg, f); }
inline void Info(std::string_view msg, Fields f = {}) { Write(Level::kInfo, msg, f); }
inline void Warn(std::string_view msg, Fields f = {}) { Write(Level::kWarn, msg, f); }
inline void Error(std::string_view msg, Fields f = {}) { Write(Level::kError, msg, f); }

// Renders one line without writing it; exposed for tests.
std::string FormatLine(log::Format format, Level level, std::string_view time, std::string_view msg,
                       Fields fields);

}  // namespace berth::log
