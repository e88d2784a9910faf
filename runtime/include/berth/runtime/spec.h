// The OCI runtime spec (config.json, version 1.x) as plain structs, its
// parser and its writer. Only the fields Berth implements are modelled; the
// parser reports every field it does not implement (by JSON path) instead of
// dropping it. Values are plain data: copyable, not thread-safe to mutate
// concurrently; the functions are pure and thread-safe.
// Errors: EINVAL naming the JSON path ("mounts[2].destination: must be an
// absolute path, got \"tmp\""); LoadSpec adds the file's path and its errno.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/cgroups/resources.h"
#include "berth/common/error.h"

namespace berth::runtime {

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<mode_t> umask;
  std::vector<gid_t> additional_gids;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;  // "CAP_CHOWN"
};

struct ConsoleSize {
  unsigned height = 0;
  unsigned width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "KEY=value"
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;  // reported unsupported when set
  std::optional<int> oom_score_adj;
  std::string selinux_label;  // reported unsupported when set
};

struct Root {
  std::string path;  // relative to the bundle or absolute
  bool readonly = false;
};

struct Mount {
  std::string destination;
  std::string type;  // "" means bind when options hold bind/rbind
  std::string source;
  std::vector<std::string> options;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };

struct Namespace {
  NamespaceType type;
  std::string path;  // empty: create a new one; else join the one at path
};

struct Device {
  std::string path;
  std::string type;  // "c", "b", "u", "p"
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<mode_t> file_mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // "SCMP_CMP_EQ" ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // "SCMP_ACT_ALLOW" ...
  std::optional<unsigned> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;  // "SCMP_ACT_ERRNO"
  std::optional<unsigned> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64"
  std::vector<std::string> flags;
  std::vector<SeccompSyscall> syscalls;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<cgroups::Resources> resources;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;  // "private", "rprivate", "slave", ...
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;  // reported unsupported when set

  bool HasNamespace(NamespaceType t) const;
  const Namespace* FindNamespace(NamespaceType t) const;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Linux> linux_spec;  // "linux" (a predefined macro in GNU modes)
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
};

struct ParseResult {
  Spec spec;
  // Fields present in the input that Berth does not implement, as JSON paths
  // ("linux.intelRdt"); the caller warns about each (or fails in strict mode).
  std::vector<std::string> unsupported;
};

// Parses config.json text. Errors name the JSON path of the bad value:
// "process.user.uid: expected an unsigned integer, got string".
Result<ParseResult> ParseSpec(std::string_view json);
// Reads and parses <bundle>/config.json.
Result<ParseResult> LoadSpec(const std::string& bundle_dir);

// Parses a process.json (as `exec --process` takes); errors are reported
// under the path "process". Fields Berth does not implement are an error
// naming them ("process.ioPriority: not supported").
Result<Process> ParseProcess(std::string_view json);
// Same, but appends the unimplemented fields' paths to `unsupported` instead
// of failing.
Result<Process> ParseProcess(std::string_view json, std::vector<std::string>* unsupported);

// The config.json `berth-runtime spec` writes, like `runc spec`: sh on a
// terminal as root in ./rootfs (read-only), runc's capabilities, mounts,
// masked and read-only paths, new pid, network, ipc, uts, mount and cgroup
// namespaces, and a device cgroup that denies everything.
Spec DefaultSpec();

// Renders a Spec as config.json text (tab-indented, fields in the spec's
// order). ParseSpec(SpecToJson(s)) gives back s. Never fails: strings that
// are not UTF-8 have the bad bytes replaced with U+FFFD.
std::string SpecToJson(const Spec& spec);

Result<NamespaceType> ParseNamespaceType(std::string_view name);
const char* NamespaceTypeName(NamespaceType t);

}  // namespace berth::runtime
