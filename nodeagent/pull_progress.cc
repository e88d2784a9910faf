#include "pull_progress.h"

#include <unistd.h>

#include <string>

#include "image_cli.h"

namespace berth::nodeagent {

PullProgressPrinter::PullProgressPrinter(std::FILE* out)
    : out_(out),
      tty_(::isatty(::fileno(out)) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void PullProgressPrinter::Update(const runtime::registry::PullProgress& p) {
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (!p.finished && drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const auto rate = secs > 0 ? static_cast<int64_t>(static_cast<double>(p.bytes_done) / secs) : 0;
  std::string line = p.reference + ": " + std::to_string(p.layers_done) + "/" +
                     std::to_string(p.layers_total) + " layers";
  if (p.layers_cached > 0) line += " (" + std::to_string(p.layers_cached) + " cached)";
  line += "  " + HumanBytes(p.bytes_done) + " / " + HumanBytes(p.bytes_total) + "  " +
          HumanBytes(rate) + "/s";
  (void)std::fprintf(out_, "\r\033[K%s", line.c_str());
  (void)std::fflush(out_);
  drawn_ = true;
}

void PullProgressPrinter::Finish() {
  if (drawn_) (void)std::fputc('\n', out_);
  drawn_ = false;
}

}  // namespace berth::nodeagent
