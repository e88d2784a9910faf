// A control plane on 127.0.0.1 (mTLS) and a unix socket (local admin) in a
// temp directory, with hollow nodes that joined through a bootstrap token.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>

#include "hollow_fleet.h"
#include "join.h"
#include "test_support.h"

#include "berth/api/codec.h"
#include "berth/api/control_client.h"
#include "berth/control/auth.h"
#include "berth/control/control_plane.h"
#include "berth/control/registry.h"
#include "berth/control/secret_box.h"
#include "berth/pki/pki.h"

namespace berth::control {

class HollowCluster : public ::testing::Test {
 protected:
  // The node grace period and eviction timeout are the production ones
  // unless a test is about silent nodes: a short grace would let a stall of
  // a loaded machine turn nodes NotReady and evict pods under other tests.
  void StartCluster(int nodes, hollow::HollowOptions hollow = {},
                    std::chrono::milliseconds grace = std::chrono::seconds(40),
                    std::chrono::milliseconds eviction = std::chrono::minutes(5)) {
    char tmpl[] = "/tmp/berth-hollow-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const auto tls = dir_ / "tls";
    std::filesystem::create_directories(tls);
    auto ca = pki::CreateCa(std::string(pki::kClusterCaName));
    ASSERT_OK(ca);
    ca_ = *ca;
    pki::IssueOptions server;
    server.server = true;
    server.client = false;
    server.ip_addresses = {"127.0.0.1"};
    auto server_cert = pki::IssueCertificate(*ca, pki::Subject{"berth-control", {}}, server);
    ASSERT_OK(server_cert);
    ASSERT_OK(pki::WriteFileSecure(tls / "ca.crt", ca->cert_pem, 0644));
    ASSERT_OK(pki::WriteFileSecure(tls / "ca.key", ca->key_pem, 0600));
    ASSERT_OK(pki::WriteFileSecure(tls / "server.crt", server_cert->cert_pem, 0644));
    ASSERT_OK(pki::WriteFileSecure(tls / "server.key", server_cert->key_pem, 0600));
    ASSERT_OK(SecretBox::GenerateKeyFile(dir_ / "encryption.key"));

    ControlPlaneOptions& o = options_;
    o.data_dir = dir_ / "db";
    o.encryption_key = dir_ / "encryption.key";
    o.tls_dir = tls;
    o.listen = {"127.0.0.1:0", "unix:" + (dir_ / "control.sock").string()};
    o.node_grace = grace;
    o.eviction_timeout = eviction;
    auto plane = ControlPlane::Start(o);
    ASSERT_OK(plane);
    plane_ = std::move(*plane);
    address_ = "127.0.0.1:" + std::to_string(plane_->bound_port(0));
    auto admin = api::ControlClient::Connect("unix:" + (dir_ / "control.sock").string());
    ASSERT_OK(admin);
    admin_ = std::move(*admin);

    auto token = CreateBootstrapToken(plane_->registry(), std::chrono::hours(1));
    ASSERT_OK(token);
    hollow.nodes = nodes;
    // Renew well within the (shortened) grace period.
    hollow.lease_period = std::min<std::chrono::milliseconds>(hollow.lease_period, grace / 4);
    for (int i = 0; i < nodes; ++i) {
      auto creds = nodeagent::JoinCluster({.address = address_,
                                           .token = *token,
                                           .ca_pem = ca_.cert_pem,
                                           .node_name = hollow.prefix + std::to_string(i)});
      ASSERT_OK(creds);
      auto client = api::ControlClient::Connect(address_, *creds);
      ASSERT_OK(client);
      node_clients_.push_back(std::move(*client));
    }
    fleet_ = std::make_unique<hollow::HollowFleet>(
        hollow, [this](int i) -> api::ControlClient& { return *node_clients_[i]; });
    ASSERT_OK(fleet_->Start());
  }

  // Stops the control plane and starts a new one on the same store and
  // address, as a restart of berth-control does; nodes and clients
  // reconnect on their own.
  void RestartControlPlane() {
    plane_->Stop();
    plane_.reset();
    options_.listen[0] = address_;
    auto plane = ControlPlane::Start(options_);
    ASSERT_OK(plane);
    plane_ = std::move(*plane);
  }

  void TearDown() override {
    if (fleet_) fleet_->Stop();
    fleet_.reset();
    node_clients_.clear();
    admin_.reset();
    if (plane_) plane_->Stop();
    plane_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  static v1::Object Parse(std::string_view yaml) {
    auto manifests = api::DecodeManifests(yaml, "test.yaml");
    EXPECT_TRUE(manifests.ok()) << manifests.error().ToString();
    if (!manifests.ok() || manifests->empty()) return {};
    return (*manifests)[0].object;
  }

  static v1::Object Pod(const std::string& name) {
    return Parse("apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
                 "}\nspec:\n  containers: [{name: c, image: busybox}]\n");
  }

  std::vector<v1::Pod> Pods(const std::string& selector) {
    v1::ListRequest req;
    req.set_kind("Pod");
    req.set_label_selector(selector);
    auto list = admin_->List(req);
    EXPECT_TRUE(list.ok());
    std::vector<v1::Pod> out;
    if (!list.ok()) return out;
    for (const auto& o : list->items()) out.push_back(o.pod());
    return out;
  }

  static bool Ready(const v1::Pod& pod) {
    for (const auto& c : pod.status().conditions()) {
      if (c.type() == "Ready") return c.status() == "True";
    }
    return false;
  }

  bool WaitFor(const std::function<bool()>& done,
               std::chrono::seconds timeout = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (done()) return true;
    PrintState();
    return false;
  }

  // What the cluster looked like when a wait timed out: every pod and node,
  // so a failure on a CI machine says what was stuck.
  void PrintState() {
    std::cerr << "cluster state when the wait timed out:\n";
    v1::ListRequest req;
    req.set_all_namespaces(true);
    for (const char* kind : {"Node", "Pod"}) {
      req.set_kind(kind);
      auto list = admin_->List(req);
      if (!list.ok()) {
        std::cerr << "  list " << kind << ": " << list.error().ToString() << "\n";
        continue;
      }
      for (const auto& o : list->items()) {
        if (o.has_node()) {
          std::cerr << "  node " << o.node().metadata().name();
          for (const auto& c : o.node().status().conditions())
            std::cerr << " " << c.type() << "=" << c.status();
          for (const auto& t : o.node().spec().taints()) std::cerr << " taint:" << t.key();
          std::cerr << "\n";
          continue;
        }
        const v1::Pod& p = o.pod();
        std::cerr << "  pod " << p.metadata().name() << " node=" << p.spec().node_name()
                  << " phase=" << p.status().phase() << " ready=" << Ready(p)
                  << (p.metadata().has_deletion_timestamp() ? " terminating" : "")
                  << (p.status().nominated_node_name().empty()
                          ? ""
                          : " nominated=" + p.status().nominated_node_name())
                  << " image=" << (p.spec().containers_size() ? p.spec().containers(0).image() : "")
                  << "\n";
      }
    }
  }

  std::filesystem::path dir_;
  pki::Certificate ca_;
  ControlPlaneOptions options_;
  std::unique_ptr<ControlPlane> plane_;
  std::string address_;
  std::unique_ptr<api::ControlClient> admin_;
  std::vector<std::unique_ptr<api::ControlClient>> node_clients_;
  std::unique_ptr<hollow::HollowFleet> fleet_;
};

}  // namespace berth::control
