#include "state.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/file.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"
#include "berth/runtime/container.h"

namespace berth::runtime::cli {

const char* StatusName(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::kCreating:
      return "creating";
    case ContainerStatus::kCreated:
      return "created";
    case ContainerStatus::kRunning:
      return "running";
    case ContainerStatus::kPaused:
      return "paused";
    case ContainerStatus::kStopped:
      return "stopped";
  }
  return "unknown";
}

ContainerStatus ComputeStatus(const Observed& o) {
  if (!o.alive) return ContainerStatus::kStopped;
  if (o.frozen) return ContainerStatus::kPaused;
  if (o.fifo_present) return ContainerStatus::kCreated;
  return ContainerStatus::kRunning;
}

Status ValidateId(const std::string& id) {
  auto bad = [&](const char* why) {
    return Error::Invalid("invalid container id \"" + id + "\": " + why);
  };
  if (id.empty()) return bad("empty");
  if (id.size() > 1024) return bad("longer than 1024 bytes");
  if (!std::isalnum(static_cast<unsigned char>(id[0]))) return bad("must start with [a-zA-Z0-9]");
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return bad("only [a-zA-Z0-9_.-] allowed");
    }
  }
  return Ok();
}

std::string ToJson(const ContainerState& s) {
  nlohmann::json j = {{"id", s.id},
                      {"pid", s.pid},
                      {"startTime", s.start_time},
                      {"bundle", s.bundle},
                      {"rootfs", s.rootfs},
                      {"created", s.created},
                      {"owner", s.owner},
                      {"cgroupMount", s.cgroup_mount},
                      {"cgroupPath", s.cgroup_path},
                      {"annotations", s.annotations}};
  return j.dump(2);
}

Result<ContainerState> FromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::Invalid("state.json: not a JSON object");
  ContainerState s;
  try {
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.start_time = j.at("startTime").get<uint64_t>();
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.owner = j.value("owner", "");
    s.cgroup_mount = j.at("cgroupMount").get<std::string>();
    s.cgroup_path = j.at("cgroupPath").get<std::string>();
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
  } catch (const nlohmann::json::exception& e) {
    return Error::Invalid(std::string("state.json: ") + e.what());
  }
  return s;
}

Status StateStore::Reserve(const std::string& id) const {
  BERTH_TRY(MakeDirs(root_, 0700));
  if (::mkdir(Dir(id).c_str(), 0700) < 0) {
    if (errno == EEXIST) return Error::Sys(EEXIST, "container \"" + id + "\" already exists");
    return Error::FromErrno("mkdir " + Dir(id).string());
  }
  return Ok();
}

Status StateStore::Save(const ContainerState& s) const {
  return WriteFileAtomic(Dir(s.id) / "state.json", ToJson(s), 0600);
}

Result<ContainerState> StateStore::Load(const std::string& id) const {
  BERTH_TRY(ValidateId(id));
  auto text = ReadFile(Dir(id) / "state.json");
  if (!text.ok()) {
    if (text.error().err() == ENOENT) {
      return Error::Sys(ENOENT, "container \"" + id + "\" does not exist");
    }
    return std::move(text).error();
  }
  return FromJson(*text);
}

Status StateStore::Remove(const std::string& id) const {
  std::error_code ec;
  std::filesystem::remove_all(Dir(id), ec);
  if (ec) return Error::Sys(ec.value(), "remove " + Dir(id).string());
  return Ok();
}

Result<std::vector<std::string>> StateStore::List() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root_, ec)) {
    if (e.is_directory() && std::filesystem::exists(e.path() / "state.json")) {
      ids.push_back(e.path().filename());
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Error::Sys(ec.value(), "list " + root_.string());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<UniqueFd> StateStore::Lock(const std::string& id) const {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(Dir(id), O_RDONLY | O_DIRECTORY));
  if (::flock(fd.get(), LOCK_EX) < 0) return Error::FromErrno("lock " + Dir(id).string());
  return fd;
}

Observed Observe(const ContainerState& s, const std::filesystem::path& fifo) {
  Observed o;
  auto start = ProcessStartTime(s.pid);
  // A zombie (our own exited child) has a start time too; count it stopped.
  if (start.ok() && *start == s.start_time) {
    auto st = ReadFile("/proc/" + std::to_string(s.pid) + "/stat");
    o.alive = st.ok() && st->find(") Z ") == std::string::npos;
  }
  o.fifo_present = ::access(fifo.c_str(), F_OK) == 0;
  cgroups::Cgroup cg(s.cgroup_mount, s.cgroup_path);
  auto frozen = cg.Frozen();
  o.frozen = frozen.ok() && *frozen;
  return o;
}

}  // namespace berth::runtime::cli
