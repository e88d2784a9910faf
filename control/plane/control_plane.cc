#include "berth/control/control_plane.h"

#include <fstream>
#include <sstream>

#include "berth/common/ip.h"
#include "berth/common/log.h"
#include "berth/control/audit_log.h"
#include "berth/control/auth.h"
#include "berth/control/control_service.h"
#include "berth/control/controllers/daemonset.h"
#include "berth/control/controllers/deployment.h"
#include "berth/control/controllers/endpoints.h"
#include "berth/control/controllers/event_recorder.h"
#include "berth/control/controllers/garbage_collector.h"
#include "berth/control/controllers/job.h"
#include "berth/control/controllers/namespace.h"
#include "berth/control/controllers/node_ipam.h"
#include "berth/control/controllers/node_lifecycle.h"
#include "berth/control/controllers/pods.h"
#include "berth/control/controllers/quota_admission.h"
#include "berth/control/controllers/replicaset.h"
#include "berth/control/controllers/resource_quota.h"
#include "berth/control/controllers/service_admission.h"
#include "berth/control/informer.h"
#include "berth/control/registry.h"
#include "berth/control/scheduling/scheduler_service.h"
#include "berth/control/secret_box.h"
#include "berth/control/store.h"
#include "berth/pki/pki.h"

namespace berth::control {

using pki::Certificate;
namespace {

Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Error::FromErrno("read " + path.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

// Declared in the order they are built; destroyed in reverse.
struct ControlPlane::Parts {
  std::unique_ptr<SecretBox> box;
  std::unique_ptr<Store> store;
  std::unique_ptr<Registry> registry;
  ServiceAllocation* service_allocation = nullptr;  // owned by the registry
  std::unique_ptr<Informer> pods, nodes, replicasets, leases, deployments, services, namespaces,
      jobs, daemonsets, quotas;
  std::unique_ptr<EventRecorder> events;
  std::unique_ptr<ReplicaSetController> replicaset;
  std::unique_ptr<DeploymentController> deployment;
  std::unique_ptr<SchedulerService> scheduler;
  bool scheduler_started = false;
  std::unique_ptr<NodeLifecycleController> node_lifecycle;
  std::unique_ptr<EndpointsController> endpoints;
  std::unique_ptr<ServiceAllocationRepair> service_repair;
  std::unique_ptr<ResourceQuotaController> quota;
  std::unique_ptr<GarbageCollector> gc;
  std::unique_ptr<NamespaceController> namespace_controller;
  std::unique_ptr<JobController> job;
  std::unique_ptr<DaemonSetController> daemonset;

  std::vector<Informer*> Informers() const {
    return {pods.get(),        nodes.get(),    replicasets.get(), leases.get(),
            deployments.get(), services.get(), namespaces.get(),  jobs.get(),
            daemonsets.get(),  quotas.get()};
  }
  std::unique_ptr<Certificate> ca;
  std::unique_ptr<Authenticator> authenticator;
  std::unique_ptr<Authorizer> authorizer;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<ControlService> service;
  std::unique_ptr<grpc::Server> server;
  std::vector<int> ports;
  bool stopped = false;
};

ControlPlane::ControlPlane(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

ControlPlane::~ControlPlane() { Stop(); }

Registry& ControlPlane::registry() { return *parts_->registry; }

SchedulerStats ControlPlane::scheduler_stats() const { return parts_->scheduler->Stats(); }

Status ControlPlane::StartScheduler() {
  if (parts_->scheduler_started) return {};
  BERTH_TRY(parts_->scheduler->Start());
  parts_->scheduler_started = true;
  return {};
}

int ControlPlane::bound_port(size_t listener) const {
  return listener < parts_->ports.size() ? parts_->ports[listener] : 0;
}

void ControlPlane::Stop() {
  Parts& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  if (p.service) p.service->Shutdown();
  if (p.server) p.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (p.daemonset) p.daemonset->Stop();
  if (p.job) p.job->Stop();
  if (p.namespace_controller) p.namespace_controller->Stop();
  if (p.gc) p.gc->Stop();
  if (p.quota) p.quota->Stop();
  if (p.service_repair) p.service_repair->Stop();
  if (p.endpoints) p.endpoints->Stop();
  if (p.node_lifecycle) p.node_lifecycle->Stop();
  if (p.scheduler) p.scheduler->Stop();
  if (p.deployment) p.deployment->Stop();
  if (p.replicaset) p.replicaset->Stop();
  StopAll(p.Informers());
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Start(const ControlPlaneOptions& o) {
  auto p = std::make_unique<Parts>();
  if (!o.encryption_key.empty()) {
    auto box = SecretBox::FromKeyFile(o.encryption_key);
    if (!box.ok()) return std::move(box).error().Wrap("encryption key");
    p->box = std::make_unique<SecretBox>(std::move(*box));
  }
  auto store = OpenRocksStore({o.data_dir, o.history_revisions});
  if (!store.ok()) return std::move(store).error().Wrap("open store");
  p->store = std::move(*store);
  RegistryOptions ro;
  ro.secrets = p->box.get();
  p->registry = std::make_unique<Registry>(*p->store, ro);
  BERTH_TRY(p->registry->Bootstrap({"default", "berth-system", std::string(kNodeLeaseNamespace)}));

  Registry& reg = *p->registry;
  // Admission, in Kubernetes' order: addresses, then limit defaults, then
  // the quota that must see those defaults.
  auto service_cidr = IpPrefix::Parse(o.service_cidr);
  if (!service_cidr.ok()) return std::move(service_cidr).error().Wrap("--service-cidr");
  auto allocation = std::make_unique<ServiceAllocation>(*p->store, *service_cidr);
  p->service_allocation = allocation.get();
  reg.AddAdmission(std::move(allocation));
  auto ipam = NodeIpam::Create(*p->store, o.cluster_cidr);
  if (!ipam.ok()) return std::move(ipam).error().Wrap("--cluster-cidr");
  reg.AddAdmission(std::move(*ipam));
  reg.AddAdmission(std::make_unique<LimitRanger>());
  reg.AddAdmission(std::make_unique<QuotaAdmission>());

  // Controllers add their handlers and indexes before the informers start.
  p->pods = std::make_unique<Informer>(reg, "Pod");
  p->nodes = std::make_unique<Informer>(reg, "Node");
  p->replicasets = std::make_unique<Informer>(reg, "ReplicaSet");
  p->leases = std::make_unique<Informer>(reg, "Lease");
  p->deployments = std::make_unique<Informer>(reg, "Deployment");
  p->services = std::make_unique<Informer>(reg, "Service");
  p->namespaces = std::make_unique<Informer>(reg, "Namespace");
  p->jobs = std::make_unique<Informer>(reg, "Job");
  p->daemonsets = std::make_unique<Informer>(reg, "DaemonSet");
  p->quotas = std::make_unique<Informer>(reg, "ResourceQuota");
  AddPodIndexes(*p->pods);
  p->events = std::make_unique<EventRecorder>(reg, "berth-control");
  p->replicaset =
      std::make_unique<ReplicaSetController>(reg, *p->replicasets, *p->pods, *p->events);
  p->deployment = std::make_unique<DeploymentController>(reg, *p->deployments, *p->replicasets,
                                                         *p->pods, *p->events);
  p->scheduler = std::make_unique<SchedulerService>(reg, *p->nodes, *p->pods, *p->events,
                                                    SchedulerOptions{.policy = o.policy});
  p->node_lifecycle = std::make_unique<NodeLifecycleController>(
      reg, *p->nodes, *p->leases, *p->pods, *p->events,
      NodeLifecycleOptions{.grace = o.node_grace, .eviction_timeout = o.eviction_timeout});
  p->endpoints = std::make_unique<EndpointsController>(reg, *p->services, *p->pods);
  p->service_repair = std::make_unique<ServiceAllocationRepair>(reg, *p->service_allocation);
  p->quota = std::make_unique<ResourceQuotaController>(
      reg, *p->quotas, std::vector<Informer*>{p->pods.get(), p->services.get()});
  p->gc = std::make_unique<GarbageCollector>(reg);
  p->namespace_controller = std::make_unique<NamespaceController>(reg, *p->namespaces);
  p->job = std::make_unique<JobController>(reg, *p->jobs, *p->pods, *p->events);
  p->daemonset =
      std::make_unique<DaemonSetController>(reg, *p->daemonsets, *p->pods, *p->nodes, *p->events);
  for (auto* i : p->Informers()) BERTH_TRY(i->Start());
  BERTH_TRY(p->replicaset->Start());
  BERTH_TRY(p->deployment->Start());
  if (!o.hold_scheduler) BERTH_TRY(p->scheduler->Start());
  p->scheduler_started = !o.hold_scheduler;
  BERTH_TRY(p->node_lifecycle->Start());
  BERTH_TRY(p->endpoints->Start());
  BERTH_TRY(p->service_repair->Start());
  BERTH_TRY(p->quota->Start());
  BERTH_TRY(p->gc->Start());
  BERTH_TRY(p->namespace_controller->Start());
  BERTH_TRY(p->job->Start());
  BERTH_TRY(p->daemonset->Start());

  auto authn = Authenticator::Create({.token_file_contents = o.token_file_contents,
                                      .insecure_is_local_admin = true,
                                      .bootstrap_token_valid = BootstrapTokenVerifier(reg)});
  if (!authn.ok()) return std::move(authn).error().Wrap("token file");
  p->authenticator = std::make_unique<Authenticator>(std::move(*authn));
  p->authorizer = std::make_unique<Authorizer>(reg);
  if (!o.audit_log.empty()) {
    auto audit = AuditLog::Open(o.audit_log);
    if (!audit.ok()) return audit.error();
    p->audit = std::move(*audit);
  }
  if (!o.tls_dir.empty() && std::filesystem::exists(o.tls_dir / "ca.key")) {
    auto cert = ReadFile(o.tls_dir / "ca.crt");
    auto key = ReadFile(o.tls_dir / "ca.key");
    if (!cert.ok()) return cert.error();
    if (!key.ok()) return key.error();
    p->ca = std::make_unique<Certificate>(Certificate{*cert, *key});
  }
  p->service = std::make_unique<ControlService>(
      reg, ControlServiceOptions{p->authenticator.get(), p->authorizer.get(), p->audit.get(),
                                 p->ca.get()});

  grpc::ServerBuilder builder;
  p->ports.resize(o.listen.size());
  for (size_t i = 0; i < o.listen.size(); ++i) {
    const std::string& address = o.listen[i];
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (address.rfind("unix:", 0) == 0) {
      // Only root can reach the socket (its directory is 0700): the local
      // administrator, as a root shell on the control machine is anyway.
      creds = grpc::InsecureServerCredentials();
    } else {
      auto ca = ReadFile(o.tls_dir / "ca.crt");
      auto cert = ReadFile(o.tls_dir / "server.crt");
      auto key = ReadFile(o.tls_dir / "server.key");
      if (!ca.ok() || !cert.ok() || !key.ok()) {
        return Error::Invalid("listen " + address +
                              ": TLS needs ca.crt, server.crt and server.key in " +
                              o.tls_dir.string() + " (berth-control init writes them)");
      }
      grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
      ssl.pem_root_certs = *ca;
      ssl.pem_key_cert_pairs.push_back({*key, *cert});
      creds = grpc::SslServerCredentials(ssl);
    }
    builder.AddListeningPort(address, creds, &p->ports[i]);
  }
  builder.RegisterService(p->service.get());
  p->server = builder.BuildAndStart();
  if (p->server == nullptr) {
    return Error::Sys(EADDRINUSE, "cannot listen on the configured addresses");
  }
  // gRPC starts when any one address binds; every one must.
  for (size_t i = 0; i < o.listen.size(); ++i) {
    if (o.listen[i].rfind("unix:", 0) != 0 && p->ports[i] == 0) {
      return Error::Sys(EADDRINUSE, "cannot listen on " + o.listen[i]);
    }
  }
  return std::unique_ptr<ControlPlane>(new ControlPlane(std::move(p)));
}

}  // namespace berth::control
