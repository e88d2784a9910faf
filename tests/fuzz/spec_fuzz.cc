// Fuzzes the OCI spec parser: ParseSpec and ParseProcess must never crash,
// leak or throw on any input; whatever ParseSpec accepts must survive
// SpecToJson -> ParseSpec unchanged; and SeccompFilter::Build must turn any
// parsed linux.seccomp into a filter or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "berth/runtime/seccomp.h"
#include "berth/runtime/spec.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "spec_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace berth::runtime;

  std::vector<std::string> unsupported;
  auto process = ParseProcess(text, &unsupported);
  auto strict = ParseProcess(text);
  if (strict.ok() && !process.ok()) Fail("strict ParseProcess accepted what lenient refused", "");

  auto parsed = ParseSpec(text);
  if (!parsed.ok()) return 0;
  std::string once = SpecToJson(parsed->spec);
  auto reparsed = ParseSpec(once);
  if (!reparsed.ok())
    Fail("SpecToJson output does not parse", reparsed.error().ToString() + "\n" + once);
  std::string twice = SpecToJson(reparsed->spec);
  if (twice != once) Fail("SpecToJson is not a fixpoint", once + "\n----\n" + twice);

  if (parsed->spec.linux_spec && parsed->spec.linux_spec->seccomp) {
    auto filter = SeccompFilter::Build(*parsed->spec.linux_spec->seccomp);
    (void)filter;
  }
  return 0;
}
