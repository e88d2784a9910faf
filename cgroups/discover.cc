// Finding the cgroup2 hierarchy: /proc/self/mountinfo and /proc/self/cgroup.
#include <string>
#include <vector>

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"

namespace berth::cgroups {
namespace {

std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal
// (see man 5 proc, /proc/pid/mountinfo).
std::string UnescapeOctal(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto oct = [](char c) { return c >= '0' && c <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

struct MountEntry {
  std::filesystem::path mountpoint;
  std::string root;  // the directory of the hierarchy mounted there ("/" usually)
};

// Every cgroup2 mount, in mountinfo order.
std::vector<MountEntry> FindCgroup2Mounts(std::string_view mountinfo) {
  std::vector<MountEntry> found;
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t eol = mountinfo.find('\n', pos);
    if (eol == std::string_view::npos) eol = mountinfo.size();
    std::string_view line = mountinfo.substr(pos, eol - pos);
    pos = eol + 1;
    // Fields: id parent major:minor root mountpoint options [optional...] - fstype source super
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::vector<std::string_view> post = SplitFields(line.substr(dash + 3));
    if (post.empty() || post[0] != "cgroup2") continue;
    std::vector<std::string_view> pre = SplitFields(line.substr(0, dash));
    if (pre.size() < 5) continue;
    found.push_back(MountEntry{UnescapeOctal(pre[4]), UnescapeOctal(pre[3])});
  }
  return found;
}

Result<MountEntry> FindCgroup2(std::string_view mountinfo) {
  std::vector<MountEntry> all = FindCgroup2Mounts(mountinfo);
  if (all.empty()) return Error::Sys(ENOENT, "no cgroup2 mount in mountinfo");
  return all.front();
}

// `self` made relative to a mount of the subtree `root`; false when the
// subtree does not hold `self`.
bool RelativeTo(const std::string& root, std::string* self) {
  if (root == "/" || root.empty()) return true;
  if (*self == root) {
    *self = "/";
    return true;
  }
  if (self->compare(0, root.size() + 1, root + "/") == 0) {
    *self = self->substr(root.size());
    return true;
  }
  return false;
}

}  // namespace

Result<std::filesystem::path> FindCgroup2Mount(std::string_view mountinfo) {
  BERTH_ASSIGN_OR_RETURN(MountEntry m, FindCgroup2(mountinfo));
  return m.mountpoint;
}

Result<std::string> ParseProcCgroup(std::string_view proc_self_cgroup) {
  size_t pos = 0;
  while (pos < proc_self_cgroup.size()) {
    size_t eol = proc_self_cgroup.find('\n', pos);
    if (eol == std::string_view::npos) eol = proc_self_cgroup.size();
    std::string_view line = proc_self_cgroup.substr(pos, eol - pos);
    pos = eol + 1;
    // cgroup v2 entry: "0::<path>" (see man 7 cgroups, /proc/pid/cgroup).
    if (line.substr(0, 3) == "0::") {
      std::string path(line.substr(3));
      if (path.empty() || path[0] != '/') {
        return Error::Invalid("bad cgroup v2 path \"" + path + "\" in /proc/self/cgroup");
      }
      // A process whose cgroup was removed shows "/x (deleted)"; the path is
      // still what the kernel reports, keep it without the suffix.
      const std::string_view kDeleted = " (deleted)";
      if (path.size() > kDeleted.size() &&
          std::string_view(path).substr(path.size() - kDeleted.size()) == kDeleted) {
        path.resize(path.size() - kDeleted.size());
      }
      return path;
    }
  }
  return Error::Sys(ENOENT, "no \"0::\" (cgroup v2) line in /proc/self/cgroup");
}

Result<Hierarchy> Discover(const std::filesystem::path& proc) {
  BERTH_ASSIGN_OR_RETURN(std::string mountinfo, ReadFile(proc / "self/mountinfo"));
  std::vector<MountEntry> mounts = FindCgroup2Mounts(mountinfo);
  if (mounts.empty()) {
    return Error::Sys(
        ENOENT, "discover cgroup2 in " + (proc / "self/mountinfo").string() + ": no cgroup2 mount");
  }
  BERTH_ASSIGN_OR_RETURN(std::string cgroup_file, ReadFile(proc / "self/cgroup"));
  BERTH_ASSIGN_OR_RETURN(std::string self,
                         ParseProcCgroup(cgroup_file)
                             .Wrap("discover own cgroup in " + (proc / "self/cgroup").string()));
  // A mount of a subtree (root "/a") shows our cgroup "/a/b" as "/b" below
  // the mount point. With several cgroup2 mounts (e.g. a new cgroup
  // namespace that mounted its own), take the first that holds our cgroup.
  for (MountEntry& mount : mounts) {
    std::string rel = self;
    if (RelativeTo(mount.root, &rel)) return Hierarchy{std::move(mount.mountpoint), rel};
  }
  return Error::Sys(ENOENT, "own cgroup " + self + " is outside every cgroup2 mount (first: " +
                                mounts.front().mountpoint.string() + ", root " +
                                mounts.front().root + ")");
}

}  // namespace berth::cgroups
