#include "berth/common/clock.h"

#include <cstdio>
#include <ctime>

namespace berth {

std::string NowRfc3339Nano() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  (void)snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

}  // namespace berth
