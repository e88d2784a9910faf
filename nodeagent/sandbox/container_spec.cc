#include "container_spec.h"

#include <algorithm>

#include "berth/runtime/capabilities.h"
#include "berth/runtime/seccomp.h"

namespace berth::nodeagent {
namespace {

using runtime::NamespaceType;

// Kubernetes names capabilities without the prefix ("NET_ADMIN").
Result<std::string> CapName(const std::string& name, const std::string& field) {
  std::string full = name.rfind("CAP_", 0) == 0 ? name : "CAP_" + name;
  std::transform(full.begin(), full.end(), full.begin(), ::toupper);
  if (!runtime::ParseCapability(full).ok()) {
    return Error::Invalid(field + ": unknown capability \"" + name + "\"");
  }
  return full;
}

Result<runtime::Capabilities> BuildCapabilities(const ContainerSpec& c, const std::string& field) {
  std::vector<std::string> set = runtime::DefaultCapabilities();
  for (const auto& d : c.security.capabilities_drop) {
    if (d == "ALL" || d == "all") {
      set.clear();
      continue;
    }
    BERTH_ASSIGN_OR_RETURN(std::string cap, CapName(d, field + ".drop"));
    set.erase(std::remove(set.begin(), set.end(), cap), set.end());
  }
  for (const auto& a : c.security.capabilities_add) {
    BERTH_ASSIGN_OR_RETURN(std::string cap, CapName(a, field + ".add"));
    if (std::find(set.begin(), set.end(), cap) == set.end()) set.push_back(cap);
  }
  runtime::Capabilities caps;
  caps.bounding = caps.effective = caps.permitted = set;
  return caps;
}

}  // namespace

std::vector<std::string> EffectiveArgs(const ContainerSpec& c,
                                       const runtime::image::ImageConfig& image) {
  std::vector<std::string> args = c.command.empty() ? image.entrypoint : c.command;
  const std::vector<std::string>& tail =
      !c.args.empty() ? c.args : (c.command.empty() ? image.cmd : c.args);
  args.insert(args.end(), tail.begin(), tail.end());
  return args;
}

Result<runtime::Spec> BuildContainerSpec(const ContainerPlan& plan) {
  const ContainerSpec& c = *plan.container;
  const runtime::image::ImageConfig& image = *plan.image;
  const std::string field = "container " + c.name;
  runtime::Spec s = runtime::DefaultSpec();
  runtime::Process& p = *s.process;
  p.terminal = false;
  p.args = EffectiveArgs(c, image);
  if (p.args.empty()) {
    return Error::Invalid(field + ": no command: the image has neither Entrypoint nor Cmd");
  }
  p.env = image.env;
  if (std::none_of(p.env.begin(), p.env.end(),
                   [](const std::string& e) { return e.rfind("PATH=", 0) == 0; })) {
    p.env.insert(p.env.begin(),
                 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  }
  // Later entries win, as the kubelet's env overrides the image's.
  for (const auto& kv : plan.env) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    p.env.erase(std::remove_if(p.env.begin(), p.env.end(),
                               [&](const std::string& e) { return e.rfind(key, 0) == 0; }),
                p.env.end());
    p.env.push_back(kv);
  }
  p.cwd = !c.working_dir.empty() ? c.working_dir
                                 : (!image.working_dir.empty() ? image.working_dir : "/");
  p.user = plan.image_user;
  if (c.security.run_as_user) p.user.uid = static_cast<uid_t>(*c.security.run_as_user);
  if (c.security.run_as_group) p.user.gid = static_cast<gid_t>(*c.security.run_as_group);
  p.oom_score_adj = OomScoreAdj(plan.qos, c.resources, plan.node_memory_bytes);

  runtime::Linux& l = *s.linux_spec;
  if (c.security.privileged) {
    runtime::Capabilities all;
    // Everything the library knows, as a privileged container gets.
    for (const char* name : {"CAP_CHOWN",
                             "CAP_DAC_OVERRIDE",
                             "CAP_DAC_READ_SEARCH",
                             "CAP_FOWNER",
                             "CAP_FSETID",
                             "CAP_KILL",
                             "CAP_SETGID",
                             "CAP_SETUID",
                             "CAP_SETPCAP",
                             "CAP_LINUX_IMMUTABLE",
                             "CAP_NET_BIND_SERVICE",
                             "CAP_NET_BROADCAST",
                             "CAP_NET_ADMIN",
                             "CAP_NET_RAW",
                             "CAP_IPC_LOCK",
                             "CAP_IPC_OWNER",
                             "CAP_SYS_MODULE",
                             "CAP_SYS_RAWIO",
                             "CAP_SYS_CHROOT",
                             "CAP_SYS_PTRACE",
                             "CAP_SYS_PACCT",
                             "CAP_SYS_ADMIN",
                             "CAP_SYS_BOOT",
                             "CAP_SYS_NICE",
                             "CAP_SYS_RESOURCE",
                             "CAP_SYS_TIME",
                             "CAP_SYS_TTY_CONFIG",
                             "CAP_MKNOD",
                             "CAP_LEASE",
                             "CAP_AUDIT_WRITE",
                             "CAP_AUDIT_CONTROL",
                             "CAP_SETFCAP",
                             "CAP_MAC_OVERRIDE",
                             "CAP_MAC_ADMIN",
                             "CAP_SYSLOG",
                             "CAP_WAKE_ALARM",
                             "CAP_BLOCK_SUSPEND",
                             "CAP_AUDIT_READ",
                             "CAP_PERFMON",
                             "CAP_BPF",
                             "CAP_CHECKPOINT_RESTORE"}) {
      if (runtime::ParseCapability(name).ok()) all.bounding.emplace_back(name);
    }
    all.effective = all.permitted = all.bounding;
    p.capabilities = all;
    p.no_new_privileges = false;
    l.seccomp.reset();
    l.masked_paths.clear();
    l.readonly_paths.clear();
  } else {
    BERTH_ASSIGN_OR_RETURN(p.capabilities,
                           BuildCapabilities(c, field + ": securityContext.capabilities"));
    // allowPrivilegeEscalation defaults to true in Kubernetes.
    p.no_new_privileges = c.security.allow_privilege_escalation.has_value() &&
                          !*c.security.allow_privilege_escalation;
    if (c.security.seccomp_profile == "RuntimeDefault") {
      l.seccomp = runtime::SeccompProfileFor(*p.capabilities);
    } else {
      l.seccomp.reset();
    }
  }
  s.root = {plan.rootfs, c.security.read_only_root_filesystem};
  s.hostname.clear();  // the pod's uts namespace already carries the pod name

  l.namespaces.clear();
  auto ns = [&](NamespaceType t, const std::string& path) { l.namespaces.push_back({t, path}); };
  ns(NamespaceType::kMount, "");
  ns(NamespaceType::kCgroup, "");
  ns(NamespaceType::kPid, plan.pidns);
  ns(NamespaceType::kNetwork, plan.netns);
  ns(NamespaceType::kUts, plan.utsns);
  ns(NamespaceType::kIpc, plan.ipcns);
  if (plan.utsns.empty()) s.hostname = plan.pod->name;

  for (const auto& m : plan.mounts) {
    runtime::Mount mount;
    mount.destination = m.destination;
    mount.type = "bind";
    mount.source = m.source;
    mount.options = {"rbind", "rprivate", m.read_only ? "ro" : "rw"};
    s.mounts.push_back(std::move(mount));
  }
  l.resources = ContainerResources(c.resources);
  s.annotations["io.kubernetes.pod.name"] = plan.pod->name;
  s.annotations["io.kubernetes.pod.namespace"] = plan.pod->namespace_;
  s.annotations["io.kubernetes.pod.uid"] = plan.pod->uid;
  s.annotations["io.kubernetes.container.name"] = c.name;
  return s;
}

}  // namespace berth::nodeagent
