#include "fake_registry.h"

#include <poll.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cctype>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace berth::runtime::registry::testing {
namespace {

bool SendAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 307:
      return "Temporary Redirect";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    default:
      return "Status";
  }
}

}  // namespace

FakeRegistry::FakeRegistry() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("fake registry: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { Serve(); });
}

FakeRegistry::~FakeRegistry() {
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
}

std::string FakeRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }

void FakeRegistry::AddBlob(const std::string& repo, const std::string& digest, std::string data) {
  std::lock_guard lock(mu_);
  blobs_["/v2/" + repo + "/blobs/" + digest] = std::move(data);
}

void FakeRegistry::AddManifest(const std::string& repo, const std::string& tag,
                               const std::string& media_type, const std::string& digest,
                               std::string body) {
  std::lock_guard lock(mu_);
  if (!tag.empty()) manifests_["/v2/" + repo + "/manifests/" + tag] = {media_type, body};
  manifests_["/v2/" + repo + "/manifests/" + digest] = {media_type, std::move(body)};
}

void FakeRegistry::SetHook(Hook hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

std::vector<FakeRequest> FakeRegistry::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

int FakeRegistry::CountRequests(const std::string& path_suffix) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const FakeRequest& r : requests_) {
    if (r.path.size() >= path_suffix.size() &&
        r.path.compare(r.path.size() - path_suffix.size(), path_suffix.size(), path_suffix) == 0) {
      ++n;
    }
  }
  return n;
}

void FakeRegistry::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Handle(fd);
    ::close(fd);
  }
}

void FakeRegistry::Handle(int fd) {
  std::string in;
  char buf[4096];
  while (in.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return;
    in.append(buf, static_cast<size_t>(n));
    // Not HTTP (a TLS ClientHello starts with 0x16): hang up as a plain server would.
    if (!std::isalpha(static_cast<unsigned char>(in[0]))) return;
  }
  FakeRequest req;
  size_t line_end = in.find("\r\n");
  std::string first = in.substr(0, line_end);
  size_t sp1 = first.find(' ');
  size_t sp2 = first.find(' ', sp1 + 1);
  req.method = first.substr(0, sp1);
  req.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end + 2;
  while (true) {
    size_t end = in.find("\r\n", pos);
    if (end == pos || end == std::string::npos) break;
    std::string line = in.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = line.find_first_not_of(' ', colon + 1);
      req.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    pos = end + 2;
  }
  {
    std::lock_guard lock(mu_);
    requests_.push_back(req);
  }
  FakeResponse resp = Route(req);
  std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " + Reason(resp.status) +
                     "\r\nContent-Length: " + std::to_string(resp.body.size()) +
                     "\r\nConnection: close\r\n";
  for (const auto& [k, v] : resp.headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  if (!SendAll(fd, head.data(), head.size())) return;
  size_t n = resp.truncate_at ? std::min(*resp.truncate_at, resp.body.size()) : resp.body.size();
  if (req.method != "HEAD") SendAll(fd, resp.body.data(), n);
  ::shutdown(fd, SHUT_WR);
}

FakeResponse FakeRegistry::Route(const FakeRequest& req) {
  Hook hook;
  {
    std::lock_guard lock(mu_);
    hook = hook_;
  }
  if (hook) {
    if (std::optional<FakeResponse> r = hook(req)) return *r;
  }
  std::lock_guard lock(mu_);
  if (auto it = manifests_.find(req.path); it != manifests_.end()) {
    FakeResponse r;
    r.headers = {{"Content-Type", it->second.first}};
    r.body = it->second.second;
    return r;
  }
  if (auto it = blobs_.find(req.path); it != blobs_.end()) {
    FakeResponse r;
    r.headers = {{"Content-Type", "application/octet-stream"}};
    r.body = it->second;
    return r;
  }
  FakeResponse r;
  r.status = 404;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = R"({"errors":[{"code":"NAME_UNKNOWN","message":"not found: )" + req.path + R"("}]})";
  return r;
}

}  // namespace berth::runtime::registry::testing
