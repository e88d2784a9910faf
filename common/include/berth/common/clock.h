// Wall-clock timestamps as Berth prints them. Thread-safe.
#pragma once

#include <string>

namespace berth {

// The current UTC time in RFC 3339 with nanoseconds: "2026-11-23T06:00:00.123456789Z"
// (the format of OCI state "created" and of CRI log lines).
std::string NowRfc3339Nano();

}  // namespace berth
