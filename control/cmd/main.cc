// berth-control: the control service. `init` makes the cluster's CA,
// certificates, encryption key and a bootstrap token and prints the join
// command; `serve` runs the store, the API, the scheduler and the
// controllers; `keygen` writes an encryption key.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <systemd/sd-daemon.h>

#include "berth/common/log.h"
#include "berth/control/auth.h"
#include "berth/control/control_plane.h"
#include "berth/control/registry.h"
#include "berth/control/secret_box.h"
#include "berth/control/store.h"
#include "berth/pki/pki.h"

namespace berth::control {

using pki::CreateCa;
using pki::IssueCertificate;
using pki::IssueOptions;
using pki::kClusterCaName;
using pki::PublicKeyPin;
using pki::Subject;
using pki::WriteFileSecure;
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct Flags {
  std::string dir = "/etc/berth/control";  // certificates, keys, tokens
  std::string data_dir = "/var/lib/berth/control";
  std::vector<std::string> listen = {"unix:/run/berth/control.sock"};
  std::string advertise = "127.0.0.1:6443";
  std::string token_file;
  std::string audit_log;
  std::string policy = "spread";
  int64_t history = 100000;
  double node_grace_s = 40;
  double eviction_timeout_s = 300;
  double token_ttl_h = 24;
};

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::FromErrno("read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int Fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "error: %s: %s\n", what.c_str(), e.ToString().c_str());
  return 1;
}

int Serve(const Flags& f) {
  ControlPlaneOptions o;
  o.data_dir = f.data_dir;
  o.encryption_key = std::filesystem::path(f.dir) / "encryption.key";
  o.tls_dir = f.dir;
  o.listen = f.listen;
  o.history_revisions = f.history;
  o.audit_log = f.audit_log;
  o.node_grace = std::chrono::milliseconds(static_cast<int64_t>(f.node_grace_s * 1000));
  o.eviction_timeout = std::chrono::milliseconds(static_cast<int64_t>(f.eviction_timeout_s * 1000));
  if (f.policy == "pack") {
    o.policy = scheduler::ScorePolicy::kPack;
  } else if (f.policy == "balanced") {
    o.policy = scheduler::ScorePolicy::kBalanced;
  } else if (f.policy != "spread") {
    std::fprintf(stderr, "error: --policy: want spread, pack or balanced, got \"%s\"\n",
                 f.policy.c_str());
    return 1;
  }
  if (!f.token_file.empty()) {
    auto tokens = ReadFile(f.token_file);
    if (!tokens.ok()) return Fail("--token-file", tokens.error());
    o.token_file_contents = std::move(*tokens);
  }
  for (const auto& l : f.listen) {
    if (l.rfind("unix:", 0) == 0) {
      const auto dir = std::filesystem::path(l.substr(5)).parent_path();
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
  }
  auto plane = ControlPlane::Start(o);
  if (!plane.ok()) return Fail("start", plane.error());
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  (void)sd_notify(0, "READY=1\nSTATUS=serving");
  std::string listening;
  for (const auto& l : f.listen) listening += (listening.empty() ? "" : ",") + l;
  log::Info("berth-control ready", {{"listen", listening},
                                    {"data_dir", f.data_dir},
                                    {"revision", (*plane)->registry().Revision()}});
  uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  while (!g_stop.load()) {
    ::usleep(watchdog ? static_cast<useconds_t>(watchdog_usec / 2) : 200000);
    if (watchdog) (void)sd_notify(0, "WATCHDOG=1");
  }
  (void)sd_notify(0, "STOPPING=1");
  log::Info("berth-control stopping", {});
  (*plane)->Stop();
  return 0;
}

// The host part of "host:port" (brackets of an IPv6 address removed).
std::string HostOf(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return host;
}

bool IsIp(const std::string& host) {
  return host.find_first_not_of("0123456789.") == std::string::npos ||
         host.find(':') != std::string::npos;
}

int Init(const Flags& f) {
  const std::filesystem::path dir = f.dir;
  if (std::filesystem::exists(dir / "ca.key")) {
    std::fprintf(stderr, "error: %s/ca.key exists: this control plane is initialized already\n",
                 f.dir.c_str());
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail("create " + f.dir, Error::Sys(ec.value(), "mkdir"));
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);

  auto ca = CreateCa(std::string(kClusterCaName));
  if (!ca.ok()) return Fail("create the cluster CA", ca.error());
  IssueOptions server;
  server.server = true;
  server.client = false;
  server.dns_names = {"localhost", "berth-control"};
  server.ip_addresses = {"127.0.0.1", "::1"};
  const std::string host = HostOf(f.advertise);
  (IsIp(host) ? server.ip_addresses : server.dns_names).push_back(host);
  auto server_cert = IssueCertificate(*ca, Subject{"berth-control", {}}, server);
  if (!server_cert.ok()) return Fail("issue the server certificate", server_cert.error());
  auto admin =
      IssueCertificate(*ca, Subject{"admin", {std::string(kMastersGroup)}}, IssueOptions{});
  if (!admin.ok()) return Fail("issue the admin certificate", admin.error());
  // The server presents its chain with the CA, so that a joining node that
  // knows only the CA's pin (--ca-cert-hash) can find and check it.
  const std::string server_chain = server_cert->cert_pem + ca->cert_pem;
  const std::pair<const char*, const std::string*> files[] = {
      {"ca.crt", &ca->cert_pem},       {"ca.key", &ca->key_pem},
      {"server.crt", &server_chain},   {"server.key", &server_cert->key_pem},
      {"admin.crt", &admin->cert_pem}, {"admin.key", &admin->key_pem}};
  for (const auto& [name, data] : files) {
    const bool secret = std::string_view(name).ends_with(".key");
    if (auto st = WriteFileSecure(dir / name, *data, secret ? 0600 : 0644); !st.ok()) {
      return Fail(std::string("write ") + name, st.error());
    }
  }
  if (auto st = SecretBox::GenerateKeyFile(dir / "encryption.key"); !st.ok()) {
    return Fail("write encryption.key", st.error());
  }
  auto box = SecretBox::FromKeyFile(dir / "encryption.key");
  if (!box.ok()) return Fail("read encryption.key", box.error());
  auto store = OpenRocksStore({f.data_dir, f.history});
  if (!store.ok()) return Fail("open the store " + f.data_dir, store.error());
  RegistryOptions ro;
  ro.secrets = &*box;
  Registry registry(**store, ro);
  if (auto st = registry.Bootstrap({"default", "berth-system", "berth-node-lease"}); !st.ok()) {
    return Fail("create namespaces", st.error());
  }
  auto token = CreateBootstrapToken(
      registry, std::chrono::seconds(static_cast<int64_t>(f.token_ttl_h * 3600)));
  if (!token.ok()) return Fail("create a bootstrap token", token.error());
  auto pin = PublicKeyPin(ca->cert_pem);
  if (!pin.ok()) return Fail("CA pin", pin.error());
  std::printf("Berth control plane initialized in %s (store: %s).\n\n", f.dir.c_str(),
              f.data_dir.c_str());
  std::printf(
      "Start it:\n  berth-control serve --dir %s --data-dir %s --listen %s --listen "
      "unix:/run/berth/control.sock\n\n",
      f.dir.c_str(), f.data_dir.c_str(), f.advertise.c_str());
  std::printf("Administrator credentials: %s/admin.crt and %s/admin.key (CA %s/ca.crt).\n\n",
              f.dir.c_str(), f.dir.c_str(), f.dir.c_str());
  std::printf(
      "Join a node (the token is valid for %.0f h):\n  berth-agent join %s --token %s "
      "--ca-cert-hash %s\n",
      f.token_ttl_h, f.advertise.c_str(), token->c_str(), pin->c_str());
  return 0;
}

}  // namespace
}  // namespace berth::control

int main(int argc, char** argv) {
  using namespace berth;
  CLI::App app{"berth-control: the Berth control service", "berth-control"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  app.set_version_flag("--version", "berth-control version 0.1.0");
  int exit_code = 0;
  control::Flags f;

  auto* init =
      app.add_subcommand("init", "create the cluster CA, certificates, keys and a join token");
  init->add_option("--dir", f.dir, "where certificates and keys go")->capture_default_str();
  init->add_option("--data-dir", f.data_dir, "the store (RocksDB)")->capture_default_str();
  init->add_option("--advertise-address", f.advertise, "host:port nodes reach the service at")
      ->capture_default_str();
  init->add_option("--token-ttl-hours", f.token_ttl_h, "bootstrap token lifetime")
      ->capture_default_str();
  init->callback([&] { exit_code = control::Init(f); });

  auto* serve = app.add_subcommand("serve", "run the store, API, scheduler and controllers");
  serve->add_option("--dir", f.dir, "certificates and keys (from init)")->capture_default_str();
  serve->add_option("--data-dir", f.data_dir, "the store (RocksDB)")->capture_default_str();
  serve
      ->add_option("--listen", f.listen,
                   "gRPC addresses: unix:PATH (local admin) or HOST:PORT (mTLS); repeatable")
      ->capture_default_str();
  serve->add_option("--token-file", f.token_file, "CSV of token,user,uid,\"group1,group2\"");
  serve->add_option("--audit-log", f.audit_log, "JSON lines of every write and denial");
  serve->add_option("--policy", f.policy, "scheduling score: spread, pack or balanced")
      ->capture_default_str();
  serve->add_option("--history", f.history, "revisions of watch history kept")
      ->capture_default_str();
  serve->add_option("--node-grace-seconds", f.node_grace_s, "lease silence before NotReady")
      ->capture_default_str();
  serve
      ->add_option("--eviction-timeout-seconds", f.eviction_timeout_s,
                   "NotReady time before a node's pods are deleted")
      ->capture_default_str();
  serve->callback([&] { exit_code = control::Serve(f); });

  std::string key_path;
  auto* keygen = app.add_subcommand("keygen", "write a new encryption key file (mode 0600)");
  keygen->add_option("path", key_path, "where to write it")->required();
  keygen->callback([&] {
    auto st = control::SecretBox::GenerateKeyFile(key_path);
    if (!st.ok()) exit_code = control::Fail("keygen", st.error());
  });

  app.parse_complete_callback([&] {
    auto level = log::ParseLevel(log_level);
    log::Options opts;
    if (level.ok()) opts.level = *level;
    if (log::StderrIsJournal()) opts.format = log::Format::kJournal;
    IgnoreError(log::Init(opts), "logging falls back to stderr defaults");
  });
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
