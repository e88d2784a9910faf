// Service load balancing, Berth's socket-layer eBPF vs kube-proxy's iptables
// mode, with 1, 1,000 and 10,000 services of 5 backends each:
//   - programming time: ServiceLb::Upsert of every service vs
//     iptables-legacy-restore of the rules kube-proxy writes (KUBE-SERVICES,
//     KUBE-SVC-*, KUBE-SEP-* with statistic random);
//   - connection cost: TCP connect + small request + close through the last
//     service's address for a fixed time: connections/s and p99, and direct
//     connects round-robin over the same backends for reference.
// Each run gets fresh network namespaces (backends on a veth inside), a
// cgroup and a bpffs of its own; nothing outside them is touched.
//   servicelb_bench [--services 1,1000,10000] [--seconds 2] [--rounds 3]
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "berth/ebpf/service_lb.h"
#include "berth/netns/namespace.h"

namespace fs = std::filesystem;
using berth::Error;
using berth::IpAddress;
using berth::Status;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kBackends = 5;
const char* const kBackendAddr[kBackends] = {"10.1.0.11", "10.1.0.12", "10.1.0.13", "10.1.0.14",
                                             "10.1.0.15"};
constexpr uint16_t kBackendPort = 8080;

// 10.96.0.0/12 has room for 10,000 service addresses.
std::string Vip(int i) {
  return "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// A namespace with a veth holding 10.0.0.1/8 (a route for the service range)
// and the backend addresses, lo up, tcp_tw_reuse on.
Status MakeWorld(const fs::path& ns) {
  BERTH_TRY(berth::netns::CreateNetns(ns));
  std::string in = "nsenter --net=" + ns.string() + " ";
  std::string cmd = in + "ip link set lo up && " + in +
                    "ip link add bv0 type veth peer name bv1 && " + in + "ip link set bv0 up && " +
                    in + "ip link set bv1 up && " + in + "ip addr add 10.0.0.1/8 dev bv0 && " + in +
                    "sysctl -qw net.ipv4.tcp_tw_reuse=1";
  for (const char* b : kBackendAddr)
    cmd += " && " + in + "ip addr add " + std::string(b) + "/32 dev bv0";
  if (Sh(cmd) != 0) return Error::Msg("set up namespace " + ns.string());
  return {};
}

// Backends: accept, answer "ok", close. One thread per address.
struct Servers {
  std::vector<int> fds;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  Status Start(const fs::path& ns) {
    BERTH_ASSIGN_OR_RETURN(berth::UniqueFd nsfd, berth::netns::OpenNetns(ns));
    for (const char* b : kBackendAddr) {
      int fd = -1;
      BERTH_TRY(berth::netns::InNetns(nsfd.get(), [&]() -> Status {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(kBackendPort);
        inet_pton(AF_INET, b, &a.sin_addr);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 || ::listen(fd, 4096) < 0) {
          return Error::FromErrno(std::string("listen on ") + b);
        }
        return {};
      }));
      fds.push_back(fd);
      threads.emplace_back([this, fd] {
        while (!stop) {
          int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (c < 0) return;
          char buf[16];
          (void)!::recv(c, buf, sizeof(buf), 0);
          (void)!::send(c, "ok", 2, MSG_NOSIGNAL);
          ::close(c);
        }
      });
    }
    return {};
  }
  ~Servers() {
    stop = true;
    for (int fd : fds) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : threads) t.join();
    for (int fd : fds) ::close(fd);
  }
};

struct LoopResult {
  double per_second = 0;
  double p99_us = 0;
  int failures = 0;
};

// A client process (in `cgroup` if given, in `ns`) connecting to to:port
// for `seconds`; with several addresses, round-robin over them.
LoopResult Loop(const fs::path& ns, const fs::path& cgroup, const std::vector<std::string>& to,
                uint16_t port, double seconds) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!cgroup.empty()) {
      std::ofstream(cgroup / "cgroup.procs") << ::getpid();
    }
    int nsfd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) < 0) _exit(3);
    std::vector<sockaddr_in> dests(to.size());
    for (size_t i = 0; i < to.size(); ++i) {
      dests[i].sin_family = AF_INET;
      dests[i].sin_port = htons(port);
      inet_pton(AF_INET, to[i].c_str(), &dests[i].sin_addr);
    }
    size_t next = 0;
    std::vector<float> lat;
    lat.reserve(200000);
    int failures = 0;
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
      auto t0 = Clock::now();
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      char buf[4];
      const sockaddr_in& a = dests[next++ % dests.size()];
      bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0 &&
                ::send(fd, "GET", 3, MSG_NOSIGNAL) == 3 && ::recv(fd, buf, 2, MSG_WAITALL) == 2;
      ::close(fd);
      if (!ok) ++failures;
      lat.push_back(
          static_cast<float>(std::chrono::duration<double, std::micro>(Clock::now() - t0).count()));
    }
    std::sort(lat.begin(), lat.end());
    char line[128];
    int n = std::snprintf(line, sizeof(line), "%zu %f %d", lat.size(),
                          lat.empty() ? 0.0 : lat[lat.size() * 99 / 100], failures);
    (void)!::write(out[1], line, static_cast<size_t>(n));
    _exit(0);
  }
  ::close(out[1]);
  char buf[128] = {};
  (void)!::read(out[0], buf, sizeof(buf) - 1);
  ::close(out[0]);
  ::waitpid(pid, nullptr, 0);
  LoopResult r;
  size_t count = 0;
  if (std::sscanf(buf, "%zu %lf %d", &count, &r.p99_us, &r.failures) != 3) return {};
  r.per_second = static_cast<double>(count) / seconds;
  return r;
}

// kube-proxy's iptables mode for `n` services, as iptables-restore input.
std::string KubeProxyRules(int n) {
  std::ostringstream r;
  r << "*nat\n:KUBE-SERVICES - [0:0]\n";
  for (int i = 0; i < n; ++i) {
    r << ":KUBE-SVC-" << i << " - [0:0]\n";
    for (int b = 0; b < kBackends; ++b) r << ":KUBE-SEP-" << i << "-" << b << " - [0:0]\n";
  }
  r << "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n";
  for (int i = 0; i < n; ++i) {
    r << "-A KUBE-SERVICES -d " << Vip(i) << "/32 -p tcp -m comment --comment \"svc" << i
      << " cluster IP\" -m tcp --dport 80 -j KUBE-SVC-" << i << "\n";
    for (int b = 0; b < kBackends; ++b) {
      r << "-A KUBE-SVC-" << i;
      if (b < kBackends - 1) {
        char p[32];
        (void)std::snprintf(p, sizeof(p), "%.11f", 1.0 / (kBackends - b));
        r << " -m statistic --mode random --probability " << p;
      }
      r << " -j KUBE-SEP-" << i << "-" << b << "\n";
      r << "-A KUBE-SEP-" << i << "-" << b << " -p tcp -m tcp -j DNAT --to-destination "
        << kBackendAddr[b] << ":" << kBackendPort << "\n";
    }
  }
  r << "COMMIT\n";
  return r.str();
}

int Fail(const std::string& msg) {
  (void)std::fprintf(stderr, "servicelb_bench: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"service load balancing: Berth eBPF vs kube-proxy iptables"};
  std::vector<int> counts = {1, 1000, 10000};
  double seconds = 2;
  int rounds = 3;
  app.add_option("--services", counts, "service counts")->delimiter(',');
  app.add_option("--seconds", seconds, "connection loop length")->capture_default_str();
  app.add_option("--rounds", rounds, "interleaved rounds per path (median)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (::geteuid() != 0) return Fail("run as root");
  std::string tmpl = (fs::temp_directory_path() / "berth-lb-bench-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return Fail("mkdtemp");
  const fs::path root = tmpl;
  fs::create_directories(root / "bpffs");
  if (::mount("bpf", (root / "bpffs").c_str(), "bpf", 0, nullptr) < 0) return Fail("mount bpffs");
  std::string unified;
  {
    std::ifstream mi("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mi, line)) {
      if (line.find(" - cgroup2 ") == std::string::npos) continue;
      std::istringstream f(line);
      for (int i = 0; i < 5; ++i) f >> unified;
      break;
    }
  }
  const fs::path cgroup = fs::path(unified) / ("berth-lb-bench-" + std::to_string(::getpid()));
  fs::create_directory(cgroup);
  auto cleanup = [&] {
    ::rmdir(cgroup.c_str());
    ::umount2((root / "bpffs").c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(root, ec);
  };

  (void)std::printf("%-8s %-10s %12s %12s %10s %9s\n", "services", "path", "program ms", "conn/s",
                    "p99 us", "failures");
  for (int n : counts) {
    const fs::path ns = root / ("berth-" + std::to_string(n));
    const fs::path ins = root / ("ipt-" + std::to_string(n));
    for (const fs::path& p : {ns, ins}) {
      if (Status s = MakeWorld(p); !s.ok()) return cleanup(), Fail(s.error().ToString());
    }
    {
      Servers berth_servers, ipt_servers;
      if (Status s = berth_servers.Start(ns); !s.ok()) return cleanup(), Fail(s.error().ToString());
      if (Status s = ipt_servers.Start(ins); !s.ok()) return cleanup(), Fail(s.error().ToString());
      berth::ebpf::ServiceLbOptions opts{cgroup, root / "bpffs" / ("n" + std::to_string(n))};
      auto lb = berth::ebpf::ServiceLb::Open(opts);
      if (!lb.ok()) return cleanup(), Fail(lb.error().ToString());
      std::vector<berth::ebpf::Service> services(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        auto& svc = services[static_cast<size_t>(i)];
        svc.key = {*IpAddress::Parse(Vip(i)), 80, berth::ebpf::Protocol::kTcp};
        for (const char* b : kBackendAddr)
          svc.backends.push_back({*IpAddress::Parse(b), kBackendPort});
      }
      // What an agent does when it (re)syncs every service at once.
      auto t0 = Clock::now();
      if (Status s = (*lb)->UpsertMany(services); !s.ok())
        return cleanup(), Fail(s.error().ToString());
      const double berth_ms = Ms(Clock::now() - t0);
      const fs::path rules = root / "rules.txt";
      std::ofstream(rules) << KubeProxyRules(n);
      t0 = Clock::now();
      if (Sh("nsenter --net=" + ins.string() + " iptables-legacy-restore < " + rules.string()) !=
          0) {
        return cleanup(), Fail("iptables-legacy-restore failed");
      }
      const double ipt_ms = Ms(Clock::now() - t0);
      // Interleaved rounds; the median round per path is reported.
      std::vector<LoopResult> berth_r, ipt_r, direct_r;
      for (int round = 0; round < rounds; ++round) {
        berth_r.push_back(Loop(ns, cgroup, {Vip(n - 1)}, 80, seconds));
        ipt_r.push_back(Loop(ins, {}, {Vip(n - 1)}, 80, seconds));
        direct_r.push_back(
            Loop(ns, cgroup, {kBackendAddr, kBackendAddr + kBackends}, kBackendPort, seconds));
      }
      auto median = [](std::vector<LoopResult> v) {
        std::sort(v.begin(), v.end(), [](const LoopResult& a, const LoopResult& b) {
          return a.per_second < b.per_second;
        });
        return v[v.size() / 2];
      };
      const LoopResult b = median(berth_r), t = median(ipt_r), d = median(direct_r);
      (void)std::printf("%-8d %-10s %12.1f %12.0f %10.0f %9d\n", n, "berth", berth_ms, b.per_second,
                        b.p99_us, b.failures);
      (void)std::printf("%-8d %-10s %12.1f %12.0f %10.0f %9d\n", n, "iptables", ipt_ms,
                        t.per_second, t.p99_us, t.failures);
      (void)std::printf("%-8d %-10s %12s %12.0f %10.0f %9d\n", n, "direct", "-", d.per_second,
                        d.p99_us, d.failures);
      (void)std::printf("%-8d berth/iptables conn/s = %.2f, berth/direct = %.2f\n", n,
                        t.per_second > 0 ? b.per_second / t.per_second : 0.0,
                        d.per_second > 0 ? b.per_second / d.per_second : 0.0);
      (void)std::fflush(stdout);
      if (Status s = (*lb)->Uninstall(); !s.ok()) return cleanup(), Fail(s.error().ToString());
    }
    for (const fs::path& p : {ns, ins}) {
      berth::IgnoreError(berth::netns::DeleteNetns(p), "bench cleanup");
    }
  }
  cleanup();
  return 0;
}
