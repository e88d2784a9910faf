#include "membership.h"

#include <ifaddrs.h>

#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "convert.h"
#include "node_status.h"

#include "berth/api/kinds.h"
#include "berth/common/file.h"
#include "berth/common/log.h"
#include "berth/netns/namespace.h"
#include "berth/netns/pod_network.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;

// The first IPv4 address that is not loopback or link-local, in the
// namespace the node lives in.
Result<IpAddress> FirstGlobalIpv4(const fs::path& node_netns) {
  std::optional<IpAddress> found;
  auto scan = [&]() -> Status {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) < 0) return Error::FromErrno("getifaddrs");
    for (ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
      if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      const uint32_t a = ntohl(sin->sin_addr.s_addr);
      if ((a >> 24) == 127 || (a >> 16) == 0xa9fe) continue;  // 127/8, 169.254/16
      char text[INET_ADDRSTRLEN];
      if (::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) == nullptr) continue;
      if (auto ip = IpAddress::Parse(text); ip.ok()) found = *ip;
    }
    ::freeifaddrs(list);
    return {};
  };
  if (node_netns.empty()) {
    BERTH_TRY(scan());
  } else {
    BERTH_ASSIGN_OR_RETURN(UniqueFd ns, netns::OpenNetns(node_netns));
    BERTH_TRY(netns::InNetns(ns.get(), scan));
  }
  if (!found) return Error::Sys(ENOENT, "no IPv4 address to register the node with; set nodeIP");
  return *found;
}

NodeIdentity Identity(const AgentConfig& config) {
  NodeIdentity id;
  id.name = config.node_name;
  NodeStatusInputs in;
  in.reserved_cpu_milli = config.reserved_cpu_milli;
  in.reserved_memory_bytes = config.reserved_memory_bytes;
  in.max_pods = config.max_pods;
  if (auto s = ReadNodeStatus(in); s.ok()) {
    const v1::Node node = NodeToProto(*s);
    id.capacity = node.status().capacity();
    id.allocatable = node.status().allocatable();
  }
  v1::NodeAddress internal;
  internal.set_type("InternalIP");
  internal.set_address(config.node_ip);
  v1::NodeAddress host;
  host.set_type("Hostname");
  host.set_address(config.node_name);
  id.addresses = {internal, host};
  id.annotations[std::string(api::kAgentApiAnnotation)] = "unix:" + config.socket.string();
  return id;
}

}  // namespace

fs::path ClusterDir(const fs::path& state_dir) { return state_dir / "cluster"; }

Status SaveCredentials(const fs::path& state_dir, const SavedCredentials& saved) {
  const fs::path dir = ClusterDir(state_dir);
  BERTH_TRY(MakeDirs(dir, 0700));
  BERTH_TRY(WriteFileReplace(dir / "node.key", saved.credentials.key_pem, 0600));
  BERTH_TRY(WriteFileReplace(dir / "node.crt", saved.credentials.cert_pem, 0644));
  BERTH_TRY(WriteFileReplace(dir / "ca.crt", saved.credentials.ca_pem, 0644));
  // Last: its presence means the node has joined.
  return WriteFileReplace(dir / "address", saved.address + "\n", 0644);
}

Result<SavedCredentials> LoadCredentials(const fs::path& state_dir) {
  const fs::path dir = ClusterDir(state_dir);
  SavedCredentials s;
  BERTH_ASSIGN_OR_RETURN(std::string address, ReadFile(dir / "address"));
  s.address = std::string(Trim(address));
  BERTH_ASSIGN_OR_RETURN(s.credentials.ca_pem, ReadFile(dir / "ca.crt"));
  BERTH_ASSIGN_OR_RETURN(s.credentials.cert_pem, ReadFile(dir / "node.crt"));
  BERTH_ASSIGN_OR_RETURN(s.credentials.key_pem, ReadFile(dir / "node.key"));
  return s;
}

Result<std::unique_ptr<Membership>> Membership::Join(AgentConfig* config,
                                                     std::chrono::seconds wait) {
  BERTH_ASSIGN_OR_RETURN(SavedCredentials saved, LoadCredentials(config->state_dir));
  if (config->node_ip.empty()) {
    BERTH_ASSIGN_OR_RETURN(IpAddress ip, FirstGlobalIpv4(config->network.node_netns));
    config->node_ip = ip.String();
  }
  std::unique_ptr<Membership> m(new Membership());
  BERTH_ASSIGN_OR_RETURN(m->client_, api::ControlClient::Connect(saved.address, saved.credentials));
  m->session_ = std::make_unique<NodeSession>(*m->client_, Identity(*config));
  const std::string where = "berth-control at " + saved.address;
  BERTH_TRY(m->session_->Register(/*ready=*/false).Wrap(where));
  BERTH_TRY(m->session_->RenewLease().Wrap(where));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    BERTH_ASSIGN_OR_RETURN(v1::Object node, m->client_->Get("Node", "", config->node_name));
    const std::string& cidr = node.node().spec().pod_cidr();
    if (!cidr.empty()) {
      auto prefix = IpPrefix::Parse(cidr);
      if (!prefix.ok()) return std::move(prefix).error().Wrap("spec.podCIDR of the Node");
      config->network.pod_cidr_v4 = *prefix;
      log::Info("joined the cluster",
                {{"control", saved.address}, {"node", config->node_name}, {"podCIDR", cidr}});
      return m;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error::Sys(ETIMEDOUT, where + " assigned no pod CIDR to node " + config->node_name);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Membership::~Membership() { Stop(); }

Status Membership::Start(Agent& agent, const AgentConfig& config) {
  const auto& sandbox = agent.context().sandbox;
  const std::string cgroup =
      config.service_cgroup.empty() ? sandbox.cgroup_root : config.service_cgroup;
  ebpf::ServiceLbOptions lb;
  lb.cgroup = sandbox.cgroup_mount / (cgroup == "/" ? "" : cgroup.substr(1));
  lb.pin_dir = config.bpf_pin_dir / "services";
  BERTH_ASSIGN_OR_RETURN(lb_, ebpf::ServiceLb::Open(lb));
  if (!config.node_port_interface.empty()) {
    ebpf::NodePortOptions np;
    np.interface = config.node_port_interface;
    BERTH_ASSIGN_OR_RETURN(np.node_address, IpAddress::Parse(config.node_ip));
    np.pin_dir = config.bpf_pin_dir / "nodeport";
    auto open = [&]() -> Status {
      BERTH_ASSIGN_OR_RETURN(node_port_, ebpf::NodePort::Open(np));
      return {};
    };
    if (config.network.node_netns.empty()) {
      BERTH_TRY(open());
    } else {
      BERTH_ASSIGN_OR_RETURN(UniqueFd ns, netns::OpenNetns(config.network.node_netns));
      BERTH_TRY(netns::InNetns(ns.get(), open));
    }
  }
  if (!config.cluster_dns.empty()) {
    // The cluster DNS on the node's loopback, answering from the same
    // Services and Endpoints; other names go to the node's resolvers.
    BERTH_ASSIGN_OR_RETURN(IpAddress dns_ip, IpAddress::Parse(config.cluster_dns));
    BERTH_TRY(netns::AddLocalAddress(config.network.node_netns,
                                     IpPrefix{dns_ip, dns_ip.is_v4() ? 32 : 128}));
    dns_table_ = std::make_unique<dns::DnsTable>(config.cluster_domain);
    dns::DnsServerOptions o;
    o.listen_address = dns_ip;
    o.netns = config.network.node_netns;
    auto resolv = ReadFile("/etc/resolv.conf");
    if (resolv.ok()) o.upstreams = dns::ParseResolvConf(*resolv);
    BERTH_ASSIGN_OR_RETURN(dns_server_, dns::DnsServer::Start(o, *dns_table_));
  }
  services_ = std::make_unique<ServiceSync>(*client_, config.node_name, lb_.get(), node_port_.get(),
                                            dns_table_.get());
  services_->Start();
  ClusterAgentOptions options;
  options.host_ip = config.node_ip;
  options.config_root = config.run_dir / "cluster-config";
  options.cluster_dns = config.cluster_dns;
  options.cluster_domain = config.cluster_domain;
  cluster_ = std::make_unique<ClusterAgent>(*client_, *session_, agent, options);
  cluster_->Start();
  usage_ = std::make_unique<UsageReporter>(
      *client_, agent, config.node_name,
      metrics::UsageMeterOptions{.cgroup_mount = sandbox.cgroup_mount},
      std::chrono::duration_cast<std::chrono::milliseconds>(config.usage_report_interval));
  usage_->Start();
  // Everything a pod needs runs now: the node takes pods. A write that
  // loses to the agent's own status refresh is tried again; failing that,
  // the next refresh (node_status_interval) reports it.
  Status ready;
  for (int attempt = 0; attempt < 3; ++attempt) {
    ready = session_->ReportReady(true, "BerthAgentReady", "berth-agent is posting ready status");
    if (ready.ok()) break;
  }
  if (!ready.ok()) log::Warn("node ready", {{"error", ready.error().ToString()}});
  return {};
}

void Membership::Stop() {
  if (usage_) usage_->Stop();
  if (cluster_) cluster_->Stop();
  if (services_) services_->Stop();
  if (dns_server_) dns_server_->Stop();
}

}  // namespace berth::nodeagent
