// berth-shim-monitor: what berth-shim becomes once the container runs.
#include <unistd.h>

#include <string>

#include "monitor.h"

int main(int argc, char** argv) {
  auto options = berth::runtime::shim::ParseMonitorArgs(argc, argv);
  if (!options.ok()) {
    std::string line = "berth-shim-monitor: " + options.error().ToString() + "\n";
    (void)!::write(2, line.data(), line.size());
    return 2;
  }
  return berth::runtime::shim::RunMonitor(*options);
}
