// ClusterIP at the socket layer, for real: programs attached to a cgroup the
// test makes, maps pinned on a bpffs the test mounts, backends serving in a
// network namespace the test makes, clients forked into that cgroup and
// namespace. Nothing outside them is touched.
#include "berth/ebpf/service_lb.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>

#include "test_support.h"

#include "berth/common/file.h"
#include "berth/netns/namespace.h"

namespace berth::ebpf {
namespace {

namespace fs = std::filesystem;

IpAddress A(const char* s) { return *IpAddress::Parse(s); }

sockaddr_storage Sock(const IpAddress& a, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (a.is_v4()) {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    std::memcpy(&s4->sin_addr, a.bytes.data(), 4);
    *len = sizeof(*s4);
  } else {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, a.bytes.data(), 16);
    *len = sizeof(*s6);
  }
  return ss;
}

std::string Peer(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(s4->sin_port));
  }
  auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(s6->sin6_port));
}

// In a client: connect to addr:port, read the backend's name. "" with errno
// set on failure.
std::string Ask(const IpAddress& a, uint16_t port, int* fd_out = nullptr) {
  int fd = ::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  socklen_t len = 0;
  sockaddr_storage ss = Sock(a, port, &len);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return "";
  }
  char buf[8] = {};
  ssize_t n = ::recv(fd, buf, 2, MSG_WAITALL);
  if (fd_out) {
    *fd_out = fd;
  } else {
    ::close(fd);
  }
  return n == 2 ? std::string(buf, 2) : std::string("??");
}

class ServiceLbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    REQUIRE_FEATURE(berth::testing::Feature::kCgroup2);
    std::string t = (fs::temp_directory_path() / "berth-lb-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    root_ = t;
    fs::create_directories(root_ / "bpffs");
    if (::mount("bpf", (root_ / "bpffs").c_str(), "bpf", 0, nullptr) < 0) {
      GTEST_SKIP() << "cannot mount a bpffs: " << std::strerror(errno);
    }
    bpffs_mounted_ = true;
    std::ifstream mi("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mi, line)) {
      if (line.find(" - cgroup2 ") == std::string::npos) continue;
      std::istringstream f(line);
      std::string field;
      for (int i = 0; i < 5; ++i) f >> field;
      cgroup_ = fs::path(field) / ("berth-lb-test-" + std::to_string(::getpid()) + "-" +
                                   root_.filename().string().substr(14));
      break;
    }
    ASSERT_FALSE(cgroup_.empty());
    ASSERT_TRUE(fs::create_directory(cgroup_)) << cgroup_;
    ASSERT_OK(netns::CreateNetns(root_ / "ns"));
    auto ns = netns::OpenNetns(root_ / "ns");
    ASSERT_OK(ns);
    ns_ = std::move(*ns);
    ASSERT_OK(netns::InNetns(ns_.get(), [] {
      UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      ifreq ifr{};
      std::strcpy(ifr.ifr_name, "lo");
      ifr.ifr_flags = IFF_UP | IFF_RUNNING;
      if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) return Status(Error::FromErrno("lo up"));
      return Status();
    }));
    for (int i = 1; i <= 3; ++i)
      StartTcpBackend("b" + std::to_string(i), A(("127.0.0.1" + std::to_string(i)).c_str()), 8080);
    StartTcpBackend("b6", A("::1"), 8081);
    StartUdpBackend("u1", A("127.0.0.21"), 5353);
    options_.cgroup = cgroup_;
    options_.pin_dir = root_ / "bpffs" / "berth" / "test";
    auto lb = ServiceLb::Open(options_);
    ASSERT_OK(lb);
    lb_ = std::move(*lb);
  }

  void TearDown() override {
    stop_ = true;
    for (int fd : server_fds_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : servers_) t.join();
    for (int fd : server_fds_) ::close(fd);
    if (lb_) EXPECT_OK(lb_->Uninstall());
    lb_.reset();
    if (!cgroup_.empty()) ::rmdir(cgroup_.c_str());
    ns_.reset();
    if (!root_.empty()) IgnoreError(netns::DeleteNetns(root_ / "ns"), "test cleanup");
    if (bpffs_mounted_) ::umount2((root_ / "bpffs").c_str(), MNT_DETACH);
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  int ListenIn(int family, int type, const IpAddress& a, uint16_t port) {
    int fd = -1;
    EXPECT_OK(netns::InNetns(ns_.get(), [&] {
      fd = ::socket(family, type | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      socklen_t len = 0;
      sockaddr_storage ss = Sock(a, port, &len);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0)
        return Status(Error::FromErrno("bind"));
      if (type == SOCK_STREAM && ::listen(fd, 256) < 0) return Status(Error::FromErrno("listen"));
      return Status();
    }));
    server_fds_.push_back(fd);
    return fd;
  }

  // Answers each connection with its two-letter name, then echoes.
  void StartTcpBackend(const std::string& name, const IpAddress& a, uint16_t port) {
    int fd = ListenIn(a.family, SOCK_STREAM, a, port);
    servers_.emplace_back([this, fd, name] {
      while (!stop_) {
        int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        std::thread([c, name] {
          (void)!::send(c, name.data(), 2, MSG_NOSIGNAL);
          char buf[64];
          ssize_t n;
          while ((n = ::recv(c, buf, sizeof(buf), 0)) > 0) (void)!::send(c, buf, n, MSG_NOSIGNAL);
          ::close(c);
        }).detach();
      }
    });
  }

  void StartUdpBackend(const std::string& name, const IpAddress& a, uint16_t port) {
    int fd = ListenIn(a.family, SOCK_DGRAM, a, port);
    servers_.emplace_back([this, fd, name] {
      while (!stop_) {
        char buf[16];
        sockaddr_storage from{};
        socklen_t flen = sizeof(from);
        if (::recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen) < 0)
          return;
        (void)!::sendto(fd, name.data(), 2, 0, reinterpret_cast<sockaddr*>(&from), flen);
      }
    });
  }

  // Runs `fn` in a forked client that joined the test cgroup and namespace;
  // returns what it printed. `control` (optional) lets the parent talk to it.
  std::string Client(const std::function<std::string(int control_fd)>& fn,
                     const std::function<void(int control_fd, int result_fd)>& parent = nullptr) {
    int out[2], ctl[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(out[0]);
      ::close(ctl[0]);
      std::string self = std::to_string(::getpid());
      int cg = ::open((cgroup_ / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
      if (cg < 0 || ::write(cg, self.data(), self.size()) < 0 ||
          ::setns(ns_.get(), CLONE_NEWNET) < 0) {
        _exit(3);
      }
      std::string r = fn(ctl[1]);
      (void)!::write(out[1], r.data(), r.size());
      _exit(0);
    }
    ::close(out[1]);
    ::close(ctl[1]);
    if (parent) parent(ctl[0], out[0]);
    std::string result;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof(buf))) > 0) result.append(buf, static_cast<size_t>(n));
    ::close(out[0]);
    ::close(ctl[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "client status " << status;
    return result;
  }

  Service Web(std::vector<int> backends) {
    Service s;
    s.key = {A("10.96.0.10"), 80, Protocol::kTcp};
    for (int i : backends)
      s.backends.push_back({A(("127.0.0.1" + std::to_string(i)).c_str()), 8080});
    return s;
  }

  fs::path root_, cgroup_;
  bool bpffs_mounted_ = false;
  UniqueFd ns_;
  ServiceLbOptions options_;
  std::unique_ptr<ServiceLb> lb_;
  std::atomic<bool> stop_{false};
  std::vector<int> server_fds_;
  std::vector<std::thread> servers_;
};

std::map<std::string, int> Tally(const std::string& names) {
  std::map<std::string, int> out;
  for (size_t i = 0; i + 1 < names.size(); i += 3) out[names.substr(i, 2)]++;
  return out;
}

TEST_F(ServiceLbTest, ThreeHundredConnectionsReachEveryBackend) {
  ASSERT_OK(lb_->Upsert(Web({1, 2, 3})));
  std::string names = Client([](int) {
    std::string r;
    for (int i = 0; i < 300; ++i) r += (Ask(A("10.96.0.10"), 80) + "\n").substr(0, 3);
    return r;
  });
  auto tally = Tally(names);
  EXPECT_EQ(tally.size(), 3u) << names.substr(0, 60);
  for (const char* b : {"b1", "b2", "b3"}) EXPECT_GE(tally[b], 50) << b;
  auto list = lb_->List();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].connections, 300u);
  uint64_t sum = 0;
  for (uint64_t c : (*list)[0].backend_connections) sum += c;
  EXPECT_EQ(sum, 300u);
  // A metrics exporter reads the same from the pins, without loading anything.
  auto pinned = ReadPinnedServices(options_.pin_dir);
  ASSERT_OK(pinned);
  ASSERT_EQ(pinned->size(), 1u);
  EXPECT_EQ((*pinned)[0].connections, 300u);
  EXPECT_EQ((*pinned)[0].backend_connections, (*list)[0].backend_connections);
}

TEST_F(ServiceLbTest, GetpeernameShowsTheServiceAddress) {
  ASSERT_OK(lb_->Upsert(Web({2})));
  std::string r = Client([](int) {
    int fd = -1;
    std::string name = Ask(A("10.96.0.10"), 80, &fd);
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    return name + " " + Peer(ss);
  });
  EXPECT_EQ(r, "b2 10.96.0.10:80");
}

TEST_F(ServiceLbTest, Ipv6ServiceAndPeerName) {
  Service s;
  s.key = {A("fd00::10"), 80, Protocol::kTcp};
  s.backends = {{A("::1"), 8081}};
  ASSERT_OK(lb_->Upsert(s));
  std::string r = Client([](int) {
    int fd = -1;
    std::string name = Ask(A("fd00::10"), 80, &fd);
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    return name + " " + Peer(ss);
  });
  EXPECT_EQ(r, "b6 [fd00::10]:80");
}

TEST_F(ServiceLbTest, UdpRepliesComeFromTheServiceAddress) {
  Service s;
  s.key = {A("10.96.0.53"), 53, Protocol::kUdp};
  s.backends = {{A("127.0.0.21"), 5353}};
  ASSERT_OK(lb_->Upsert(s));
  std::string r = Client([](int) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    socklen_t len = 0;
    sockaddr_storage to = Sock(A("10.96.0.53"), 53, &len);
    (void)!::sendto(fd, "q", 1, 0, reinterpret_cast<sockaddr*>(&to), len);
    char buf[8] = {};
    sockaddr_storage from{};
    socklen_t flen = sizeof(from);
    ssize_t n = ::recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    return n == 2 ? std::string(buf, 2) + " " + Peer(from)
                  : "recv: " + std::string(std::strerror(errno));
  });
  EXPECT_EQ(r, "u1 10.96.0.53:53");
}

TEST_F(ServiceLbTest, NoBackendsRefusesAtOnceAndOtherPortsAreUntouched) {
  ASSERT_OK(lb_->Upsert(Web({})));
  std::string r = Client([](int) {
    auto t0 = std::chrono::steady_clock::now();
    std::string name = Ask(A("10.96.0.10"), 80);
    const int err = errno;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    Ask(A("10.96.0.10"), 81);  // not a service port: no route in this namespace
    const int other = errno;
    return std::string(strerrorname_np(err)) + " " + (ms < 100 ? "fast" : "slow") + " " +
           strerrorname_np(other);
  });
  EXPECT_EQ(r, "ECONNREFUSED fast ENETUNREACH");
}

TEST_F(ServiceLbTest, AffinityKeepsTheBackend) {
  Service s = Web({1, 2, 3});
  s.affinity_timeout_seconds = 60;
  ASSERT_OK(lb_->Upsert(s));
  std::string names = Client([](int) {
    std::string r;
    for (int i = 0; i < 50; ++i) r += (Ask(A("10.96.0.10"), 80) + "\n").substr(0, 3);
    return r;
  });
  EXPECT_EQ(Tally(names).size(), 1u) << names.substr(0, 60);
  EXPECT_EQ(names.size(), 150u);
}

TEST_F(ServiceLbTest, RemovedBackendGetsNoNewConnectionsAndKeepsItsOwn) {
  ASSERT_OK(lb_->Upsert(Web({1, 2, 3})));
  std::string held;
  // The client holds one connection, then loops connecting while the parent
  // removes the held connection's backend; it notes when it saw the removal.
  std::string r = Client(
      [](int ctl) {
        int fd = -1;
        std::string first = Ask(A("10.96.0.10"), 80, &fd);
        (void)!::write(ctl, first.data(), 2);
        int failures = 0, after = 0, after_to_held = 0;
        bool removed = false;
        // Until 200 connections after the removal (bounded, in case it never comes).
        for (int i = 0; i < 20000 && after < 200; ++i) {
          pollfd p{ctl, POLLIN, 0};
          if (!removed && ::poll(&p, 1, 0) == 1) {
            char m;
            removed = ::read(ctl, &m, 1) == 1;
          }
          std::string n = Ask(A("10.96.0.10"), 80);
          if (n.size() != 2 || n == "??") ++failures;
          if (removed) {
            ++after;
            if (n == first) ++after_to_held;
          }
        }
        char buf[8] = {};
        bool alive = ::send(fd, "hi", 2, MSG_NOSIGNAL) == 2 && ::recv(fd, buf, 2, MSG_WAITALL) == 2;
        return first + " failures=" + std::to_string(failures) + " after=" + std::to_string(after) +
               " to_removed=" + std::to_string(after_to_held) + (alive ? " alive" : " dead");
      },
      [&](int ctl, int) {
        char first[3] = {};
        ASSERT_EQ(::read(ctl, first, 2), 2);
        held = first;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the client is looping
        std::vector<int> rest;
        for (int i = 1; i <= 3; ++i) {
          if ("b" + std::to_string(i) != held) rest.push_back(i);
        }
        ASSERT_OK(lb_->Upsert(Web(rest)));
        ASSERT_EQ(::write(ctl, "r", 1), 1);
      });
  EXPECT_EQ(r.substr(0, 2), held) << r;
  EXPECT_NE(r.find(" failures=0 "), std::string::npos) << r;
  EXPECT_NE(r.find(" to_removed=0 "), std::string::npos) << r;
  EXPECT_EQ(r.find(" after=0 "), std::string::npos) << "the loop ended before the removal: " << r;
  EXPECT_NE(r.find(" alive"), std::string::npos) << r;
}

TEST_F(ServiceLbTest, RestartKeepsTrafficThenReopensAndUpdates) {
  ASSERT_OK(lb_->Upsert(Web({1, 2, 3})));
  lb_.reset();  // the agent goes away; pins stay
  auto ask10 = [](int) {
    std::string r;
    for (int i = 0; i < 10; ++i) r += Ask(A("10.96.0.10"), 80);
    return r;
  };
  std::string while_down = Client(ask10);
  EXPECT_EQ(while_down.size(), 20u) << while_down;
  EXPECT_EQ(while_down.find("??"), std::string::npos);
  auto lb = ServiceLb::Open(options_);
  ASSERT_OK(lb);
  lb_ = std::move(*lb);
  auto list = lb_->List();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].service.backends.size(), 3u);
  EXPECT_GE((*list)[0].connections, 10u);
  ASSERT_OK(lb_->Upsert(Web({3})));
  EXPECT_EQ(Client(ask10), "b3b3b3b3b3b3b3b3b3b3");
  ASSERT_OK(lb_->Delete(Web({}).key));
  ASSERT_OK(lb_->List());
  EXPECT_TRUE(lb_->List()->empty());
}

TEST_F(ServiceLbTest, ManyServicesInOneBatchAndInvalidInput) {
  std::vector<Service> many;
  for (int i = 0; i < 1000; ++i) {
    Service s = Web({1, 2});
    s.key.address =
        A(("10.97." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str());
    many.push_back(s);
  }
  many.back().backends = {{A("127.0.0.13"), 8080}};
  ASSERT_OK(lb_->UpsertMany(many));
  auto list = lb_->List();
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1000u);
  EXPECT_EQ(Client([](int) { return Ask(A("10.97.3.250"), 80); }), "b3");
  // Re-programming the same set replaces every backend set in place.
  ASSERT_OK(lb_->UpsertMany(many));
  EXPECT_EQ(lb_->List()->size(), 1000u);
  Service bad = Web({1});
  bad.backends[0].address = A("::1");
  auto r = lb_->Upsert(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("10.96.0.10:80/TCP"), std::string::npos)
      << r.error().ToString();
}

}  // namespace
}  // namespace berth::ebpf
