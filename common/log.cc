#include "berth/common/log.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "berth/common/clock.h"

namespace berth::log {
namespace {

struct State {
  std::mutex mu;
  std::shared_ptr<spdlog::logger> logger;
  log::Format format = log::Format::kText;
};

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

State& GetState() {
  static State* state = [] {
    auto* s = new State();  // never destroyed: loggers may run during exit
    s->logger = std::make_shared<spdlog::logger>("berth",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
    s->logger->set_pattern("%v");
    return s;
  }();
  return *state;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') return true;
  }
  return false;
}

}  // namespace

Result<Level> ParseLevel(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  return Error::Invalid("unknown log level \"" + std::string(name) +
                        "\" (want debug, info, warn or error)");
}

Status Init(const Options& options) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (options.path.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.path);
    } catch (const spdlog::spdlog_ex& e) {
      return Error::Msg("open log file " + options.path + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("berth", std::move(sink));
  logger->set_pattern("%v");
  logger->flush_on(spdlog::level::trace);
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.logger = std::move(logger);
  s.format = options.format;
  g_level.store(static_cast<int>(options.level));
  return Ok();
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

bool StderrIsJournal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  return ::fstat(2, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

std::string FormatLine(log::Format format, Level level, std::string_view time, std::string_view msg,
                       Fields fields) {
  if (format == log::Format::kJson) {
    nlohmann::ordered_json j;
    j["level"] = LevelName(level);
    j["msg"] = msg;
    j["time"] = time;
    for (const Field& f : fields) j[std::string(f.key)] = f.value;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line;
  if (format == log::Format::kJournal) {
    // syslog(3) priorities: LOG_DEBUG 7, LOG_INFO 6, LOG_WARNING 4, LOG_ERR 3.
    static constexpr const char* kPriority[] = {"<7>", "<6>", "<4>", "<3>"};
    line.append(kPriority[static_cast<int>(level)])
        .append(LevelName(level))
        .append(" ")
        .append(msg);
  } else {
    line.append(time).append(" ").append(LevelName(level)).append(" ").append(msg);
  }
  for (const Field& f : fields) {
    line.append(" ").append(f.key).append("=");
    if (NeedsQuotes(f.value)) {
      line.append(
          nlohmann::json(f.value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      line.append(f.value);
    }
  }
  return line;
}

void Write(Level level, std::string_view msg, Fields fields) {
  if (!Enabled(level)) return;
  State& s = GetState();
  std::shared_ptr<spdlog::logger> logger;
  log::Format format;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    logger = s.logger;
    format = s.format;
  }
  logger->info(FormatLine(format, level, NowRfc3339Nano(), msg, fields));
}

}  // namespace berth::log
