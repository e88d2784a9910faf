// Fixture helpers for the spec tests: the checked-in corpus files and small
// config builders.
#pragma once

#include <string>

#include "test_support.h"

#include "berth/common/file.h"
#include "berth/runtime/spec.h"

namespace berth::runtime::testing {

inline std::string CorpusFile(const std::string& name) {
  auto text = ReadFile(std::string(BERTH_SPEC_CORPUS_DIR) + "/" + name);
  EXPECT_TRUE(text.ok()) << text.error().ToString();
  return text.ok() ? *text : std::string();
}

// A valid config with `extra` spliced into the top-level object, e.g.
// R"("mounts": [...])".
inline std::string ConfigWith(const std::string& extra) {
  std::string base =
      R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
          "process": {"args": ["sh"], "cwd": "/"})";
  if (!extra.empty()) base += ", " + extra;
  return base + "}";
}

// The error message of a parse that must fail.
inline std::string ParseError(const std::string& json) {
  auto r = ParseSpec(json);
  EXPECT_FALSE(r.ok()) << "parsed: " << json;
  if (r.ok()) return "";
  EXPECT_EQ(r.error().err(), EINVAL) << r.error().ToString();
  return r.error().Chain();
}

}  // namespace berth::runtime::testing
