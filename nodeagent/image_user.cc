#include "image_user.h"

#include <fstream>
#include <optional>
#include <sstream>

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;

// Looks `name` up in a passwd or group file of the rootfs: its third field.
std::optional<unsigned> LookupId(const fs::path& file, const std::string& name) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string n, pw, id;
    if (std::getline(fields, n, ':') && std::getline(fields, pw, ':') &&
        std::getline(fields, id, ':') && n == name) {
      try {
        return static_cast<unsigned>(std::stoul(id));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

// "uid[:gid]" or "name[:group]" as images give User, resolved in the rootfs.
}  // namespace

Result<runtime::User> ResolveImageUser(const fs::path& rootfs, const std::string& user) {
  runtime::User u;
  if (user.empty()) return u;
  const size_t colon = user.find(':');
  const std::string who = user.substr(0, colon);
  const std::string group = colon == std::string::npos ? "" : user.substr(colon + 1);
  auto resolve = [&](const std::string& s, const char* file) -> Result<unsigned> {
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
      return static_cast<unsigned>(std::stoul(s));
    }
    auto id = LookupId(rootfs / "etc" / file, s);
    if (!id) return Error::Invalid("image User \"" + user + "\": no \"" + s + "\" in /etc/" + file);
    return *id;
  };
  BERTH_ASSIGN_OR_RETURN(u.uid, resolve(who, "passwd"));
  if (!group.empty()) {
    BERTH_ASSIGN_OR_RETURN(u.gid, resolve(group, "group"));
  } else if (auto primary = LookupId(rootfs / "etc" / "passwd", who); primary) {
    // The primary group is the fourth field; look it up by reading the line again.
    std::ifstream in(rootfs / "etc" / "passwd");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(who + ":", 0) != 0) continue;
      std::istringstream f(line);
      std::string skip, gid;
      for (int i = 0; i < 3; ++i) std::getline(f, skip, ':');
      if (std::getline(f, gid, ':') && !gid.empty() &&
          gid.find_first_not_of("0123456789") == std::string::npos) {
        u.gid = static_cast<unsigned>(std::stoul(gid));
      }
    }
  }
  return u;
}

}  // namespace berth::nodeagent
