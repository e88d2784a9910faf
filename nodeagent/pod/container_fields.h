// Internal: the parts of a container and pod spec parsed outside manifest.cc
// (security context, probes, volumes and their mounts).
#pragma once

#include "manifest.h"
#include "yaml_reader.h"

namespace berth::nodeagent::detail {

Result<SecurityContext> ParseSecurityContext(const YamlReader& r, const YAML::Node& n,
                                             const std::string& path);
// Named ports resolve against the container's ports.
Result<Probe> ParseProbe(const YamlReader& r, const YAML::Node& n, const std::string& path,
                         const std::vector<ContainerPort>& ports);
Result<std::vector<VolumeMount>> ParseVolumeMounts(const YamlReader& r, const YAML::Node& n,
                                                   const std::string& path);
Result<std::vector<Volume>> ParseVolumes(const YamlReader& r, const YAML::Node& n,
                                         const std::string& path);

}  // namespace berth::nodeagent::detail
