// Renders registry pull progress on a terminal: one line rewritten in place
// at most ten times a second (layers, bytes, rate). Off a terminal it stays
// silent until the end. Not thread-safe: Pull serialises its calls.
#pragma once

#include <chrono>
#include <cstdio>

#include "berth/runtime/registry/pull.h"

namespace berth::nodeagent {

class PullProgressPrinter {
 public:
  explicit PullProgressPrinter(std::FILE* out);
  void Update(const runtime::registry::PullProgress& p);
  // Ends the in-place line, if one was drawn.
  void Finish();

 private:
  std::FILE* out_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace berth::nodeagent
