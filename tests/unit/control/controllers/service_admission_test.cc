#include "berth/control/controllers/service_admission.h"

#include <set>

#include "registry_fixture.h"

namespace berth::control {
namespace {

class ServiceAllocationTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    Install();
  }

  // The admission on the current registry, as berth-control installs it.
  void Install() {
    auto admission = std::make_unique<ServiceAllocation>(*store_, *IpPrefix::Parse(cidr_));
    allocation_ = admission.get();
    registry_->AddAdmission(std::move(admission));
  }

  // berth-control restarted: the store reopened, a new registry and
  // admission over it.
  void Restart() {
    registry_.reset();
    store_.reset();
    auto store = OpenRocksStore({dir_ / "db"});
    ASSERT_OK(store);
    store_ = std::move(*store);
    RegistryOptions options;
    options.secrets = box_.get();
    registry_ = std::make_unique<Registry>(*store_, options);
    Install();
  }

  static v1::Object Service(const std::string& name, const std::string& extra = "") {
    return Parse("apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
                 "}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n" + extra);
  }
  static v1::Object NodePortService(const std::string& name, int node_port = 0) {
    std::string port = "{port: 80";
    if (node_port != 0) port += ", nodePort: " + std::to_string(node_port);
    return Parse("apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
                 "}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [" + port + "}]\n");
  }
  Result<v1::Object> CreateWithIp(const std::string& name, const std::string& ip) {
    return registry_->Create(Service(name, "  clusterIP: " + ip + "\n"));
  }

  std::string cidr_ = "10.96.0.0/24";
  ServiceAllocation* allocation_ = nullptr;
};

TEST_F(ServiceAllocationTest, ClusterIpAllocatedOrHonouredAndDuplicatesRefused) {
  auto web = registry_->Create(Service("web"));
  ASSERT_OK(web);
  const std::string ip = web->service().spec().cluster_ip();
  ASSERT_TRUE(IpPrefix::Parse(cidr_)->Contains(*IpAddress::Parse(ip))) << ip;
  ASSERT_EQ(web->service().spec().cluster_ips_size(), 1);
  EXPECT_EQ(web->service().spec().cluster_ips(0), ip);
  EXPECT_EQ(registry_->Get({"Service", "default", "web"})->service().spec().cluster_ip(), ip);

  auto dns = CreateWithIp("dns", "10.96.0.10");
  ASSERT_OK(dns);
  EXPECT_EQ(dns->service().spec().cluster_ip(), "10.96.0.10");

  auto dup = CreateWithIp("dup", "10.96.0.10");
  EXPECT_ERRNO(dup, EEXIST);
  EXPECT_EQ(dup.error().message(),
            "Service \"dup\" is invalid: spec.clusterIP: Invalid value: \"10.96.0.10\": provided "
            "IP is already allocated");
  EXPECT_ERRNO(CreateWithIp("dup", ip), EEXIST);
  auto outside = CreateWithIp("outside", "10.97.0.1");
  EXPECT_ERRNO(outside, EINVAL);
  EXPECT_NE(outside.error().message().find("provided IP is not in the valid range. The range of "
                                           "valid IPs is 10.96.0.0/24"),
            std::string::npos);
  // Refused creates wrote nothing.
  EXPECT_ERRNO(registry_->Get({"Service", "default", "dup"}), ENOENT);

  auto headless = registry_->Create(Service("headless", "  clusterIP: None\n"));
  ASSERT_OK(headless);
  EXPECT_EQ(headless->service().spec().cluster_ip(), "None");
  auto external = registry_->Create(
      Parse("apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec: {type: ExternalName, "
            "externalName: db.example.com}\n"));
  ASSERT_OK(external);
  EXPECT_EQ(external->service().spec().cluster_ip(), "");
}

TEST_F(ServiceAllocationTest, ReleasedOnDeleteAndReusable) {
  ASSERT_OK(CreateWithIp("dns", "10.96.0.10"));
  ASSERT_OK(registry_->Delete({"Service", "default", "dns"}));
  auto again = CreateWithIp("dns-2", "10.96.0.10");
  ASSERT_OK(again);
  EXPECT_EQ(again->service().spec().cluster_ip(), "10.96.0.10");
}

TEST_F(ServiceAllocationTest, NeverHandedOutTwiceAcrossRestarts) {
  cidr_ = "10.96.0.0/29";  // 6 addresses
  Restart();
  std::set<std::string> ips;
  for (int i = 0; i < 3; ++i) {
    auto svc = registry_->Create(Service("a" + std::to_string(i)));
    ASSERT_OK(svc);
    EXPECT_TRUE(ips.insert(svc->service().spec().cluster_ip()).second);
  }
  Restart();
  for (int i = 0; i < 3; ++i) {
    auto svc = registry_->Create(Service("b" + std::to_string(i)));
    ASSERT_OK(svc);
    EXPECT_TRUE(ips.insert(svc->service().spec().cluster_ip()).second)
        << svc->service().spec().cluster_ip() << " handed out twice";
  }
  EXPECT_ERRNO(registry_->Create(Service("full")), ENOSPC);
  EXPECT_ERRNO(CreateWithIp("taken", *ips.begin()), EEXIST);
  const std::string freed =
      registry_->Get({"Service", "default", "a1"})->service().spec().cluster_ip();
  ASSERT_OK(registry_->Delete({"Service", "default", "a1"}));
  Restart();
  auto last = registry_->Create(Service("last"));
  ASSERT_OK(last);
  EXPECT_EQ(last->service().spec().cluster_ip(), freed);
}

TEST_F(ServiceAllocationTest, FailedOrDryRunWritesReleaseWhatWasAllocated) {
  ASSERT_OK(registry_->Create(Service("web")));
  // Admission takes .20, then the write fails: the name is taken.
  EXPECT_ERRNO(CreateWithIp("web", "10.96.0.20"), EEXIST);
  EXPECT_ERRNO(registry_->Create(NodePortService("web", 30020)), EEXIST);
  auto dry = registry_->Create(Service("dry", "  clusterIP: 10.96.0.21\n"), /*dry_run=*/true);
  ASSERT_OK(dry);
  EXPECT_EQ(dry->service().spec().cluster_ip(), "10.96.0.21");
  ASSERT_OK(CreateWithIp("other", "10.96.0.20"));
  ASSERT_OK(CreateWithIp("other-2", "10.96.0.21"));
  ASSERT_OK(registry_->Create(NodePortService("np", 30020)));
}

TEST_F(ServiceAllocationTest, NodePortsAllocatedKeptAndReleasedOnDelete) {
  auto auto_port = registry_->Create(NodePortService("auto"));
  ASSERT_OK(auto_port);
  const int allocated = auto_port->service().spec().ports(0).node_port();
  EXPECT_GE(allocated, 30000);
  EXPECT_LE(allocated, 32767);

  ASSERT_OK(registry_->Create(NodePortService("fixed", 30080)));
  auto dup = registry_->Create(NodePortService("dup", 30080));
  EXPECT_ERRNO(dup, EEXIST);
  EXPECT_EQ(dup.error().message(),
            "Service \"dup\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided "
            "port is already allocated");
  EXPECT_ERRNO(registry_->Create(NodePortService("dup", allocated)), EEXIST);

  // An update that omits the nodePort (kubectl apply) keeps it.
  auto kept = registry_->Modify({"Service", "default", "auto"}, [](v1::Object& o) {
    o.mutable_service()->mutable_spec()->mutable_ports(0)->set_node_port(0);
    return true;
  });
  ASSERT_OK(kept);
  EXPECT_EQ(kept->service().spec().ports(0).node_port(), allocated);

  // Deleting releases the node port too.
  ASSERT_OK(registry_->Delete({"Service", "default", "auto"}));
  EXPECT_OK(registry_->Create(NodePortService("reuse", allocated)));
}

TEST_F(ServiceAllocationTest, TypeChangeToClusterIpReleasesNodePorts) {
  ASSERT_OK(registry_->Create(NodePortService("web", 30080)));
  auto changed = registry_->Modify({"Service", "default", "web"}, [](v1::Object& o) {
    auto* spec = o.mutable_service()->mutable_spec();
    spec->set_type("ClusterIP");
    spec->mutable_ports(0)->set_node_port(0);
    return true;
  });
  ASSERT_OK(changed);
  EXPECT_EQ(changed->service().spec().ports(0).node_port(), 0);
  EXPECT_OK(registry_->Create(NodePortService("other", 30080)));
  // Back to NodePort: a new port, the old one is someone else's now.
  auto back = registry_->Modify({"Service", "default", "web"}, [](v1::Object& o) {
    o.mutable_service()->mutable_spec()->set_type("NodePort");
    return true;
  });
  ASSERT_OK(back);
  EXPECT_NE(back->service().spec().ports(0).node_port(), 30080);
  EXPECT_NE(back->service().spec().ports(0).node_port(), 0);
}

TEST_F(ServiceAllocationTest, TypeChangeToExternalNameReleasesEverything) {
  auto web = registry_->Create(NodePortService("web", 30080));
  ASSERT_OK(web);
  const std::string ip = web->service().spec().cluster_ip();
  ASSERT_OK(registry_->Modify({"Service", "default", "web"}, [](v1::Object& o) {
    auto* spec = o.mutable_service()->mutable_spec();
    spec->set_type("ExternalName");
    spec->set_external_name("db.example.com");
    spec->clear_cluster_ip();
    spec->clear_cluster_ips();
    spec->mutable_ports(0)->set_node_port(0);
    return true;
  }));
  EXPECT_OK(registry_->Create(NodePortService("other", 30080)));
  EXPECT_OK(CreateWithIp("same-ip", ip));
}

TEST_F(ServiceAllocationTest, DeletionHeldByAFinalizerReleasesWhenItEnds) {
  auto web = registry_->Create(
      Parse("apiVersion: v1\nkind: Service\nmetadata: {name: web, finalizers: [example.com/x]}\n"
            "spec:\n  type: NodePort\n  ports: [{port: 80, nodePort: 30081}]\n"));
  ASSERT_OK(web);
  const std::string ip = web->service().spec().cluster_ip();
  ASSERT_OK(registry_->Delete({"Service", "default", "web"}));
  // Still there, waiting for its finalizer: the addresses stay taken.
  EXPECT_ERRNO(CreateWithIp("other", ip), EEXIST);
  // The update that removes the last finalizer deletes the Service (the
  // registry calls Deleted under the update's admission guard).
  ASSERT_OK(registry_->Modify({"Service", "default", "web"}, [](v1::Object& o) {
    o.mutable_service()->mutable_metadata()->clear_finalizers();
    return true;
  }));
  EXPECT_ERRNO(registry_->Get({"Service", "default", "web"}), ENOENT);
  EXPECT_OK(CreateWithIp("other", ip));
  EXPECT_OK(registry_->Create(NodePortService("np", 30081)));
}

TEST_F(ServiceAllocationTest, RepairReleasesLeaksAndRecordsMissingAllocations) {
  // A crash between allocation and write leaves an allocation no Service
  // holds.
  ClusterIpAllocator ips(*store_, *IpPrefix::Parse(cidr_));
  NodePortAllocator ports(*store_);
  ASSERT_OK(ips.AllocateSpecific(*IpAddress::Parse("10.96.0.30"), "default/ghost/uid-1"));
  ASSERT_OK(ports.AllocateSpecific(30030, "default/ghost/uid-1"));
  ASSERT_OK(allocation_->RepairOnce(*registry_));
  // Once is not enough: it might be a create on its way to the store.
  EXPECT_ERRNO(CreateWithIp("a", "10.96.0.30"), EEXIST);
  ASSERT_OK(allocation_->RepairOnce(*registry_));
  EXPECT_OK(CreateWithIp("a", "10.96.0.30"));
  EXPECT_OK(registry_->Create(NodePortService("np", 30030)));
  // Held ones survive any number of repairs.
  ASSERT_OK(allocation_->RepairOnce(*registry_));
  ASSERT_OK(allocation_->RepairOnce(*registry_));
  EXPECT_ERRNO(CreateWithIp("b", "10.96.0.30"), EEXIST);
  EXPECT_ERRNO(registry_->Create(NodePortService("np-2", 30030)), EEXIST);

  // An allocation the store lost is recorded again.
  ASSERT_OK(ips.Release(*IpAddress::Parse("10.96.0.30")));
  ASSERT_OK(allocation_->RepairOnce(*registry_));
  EXPECT_ERRNO(CreateWithIp("b", "10.96.0.30"), EEXIST);

  // The repair also runs on its own.
  ASSERT_OK(ips.AllocateSpecific(*IpAddress::Parse("10.96.0.31"), "default/ghost/uid-2"));
  ServiceAllocationRepair repair(*registry_, *allocation_, std::chrono::milliseconds(50));
  ASSERT_OK(repair.Start());
  bool released = false;
  for (int i = 0; i < 100 && !released; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    released = registry_->Create(Service("c", "  clusterIP: 10.96.0.31\n"), true).ok();
  }
  repair.Stop();
  EXPECT_TRUE(released);
}

}  // namespace
}  // namespace berth::control
