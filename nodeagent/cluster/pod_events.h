// The events an agent records about its pods, as kubelet records them:
// Started, BackOff ("Back-off restarting failed container"), Failed
// (image or container creation errors), Killing (stopping a container for a
// deletion). StatusEvents derives them from two successive statuses of a
// pod; EventWriter writes them to berth-control, folding a repeat of the
// same event into a count on the existing object (like kubelet's
// EventCorrelator), and never fails the caller: an event that cannot be
// written is logged and dropped.
//
// StatusEvents is pure; EventWriter is not thread-safe (the agent's status
// loop owns it).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pod_status.h"

#include "berth/api/control_client.h"

namespace berth::nodeagent {

struct PodEvent {
  std::string type;  // Normal, Warning
  std::string reason;
  std::string message;
  std::string field_path;  // spec.containers{name}
};

// What changed from `before` (null: the first status seen) to `after`.
std::vector<PodEvent> StatusEvents(const PodStatus* before, const PodStatus& after);
// "Stopping container <c>" for every running container of `status`.
std::vector<PodEvent> KillingEvents(const PodStatus& status);

class EventWriter {
 public:
  EventWriter(api::ControlClient& client, std::string node);
  void Write(const v1::Pod& pod, const PodEvent& event);
  // Drops what is remembered about a pod that is gone.
  void Forget(const std::string& uid);

 private:
  struct Recorded {
    std::string name;
    int32_t count = 0;
  };
  api::ControlClient& client_;
  const std::string node_;
  std::map<std::string, Recorded> recorded_;  // by pod uid + reason + message
};

}  // namespace berth::nodeagent
