// Shared by the lifecycle controller tests (garbage collector, namespace,
// Job, DaemonSet): polling for a condition and small object builders over
// the registry fixture.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "registry_fixture.h"

namespace berth::control {

// Polls `done` every 20 ms for up to `timeout`; true once it holds.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

class LifecycleTest : public RegistryTest {
 protected:
  bool Exists(const std::string& kind, const std::string& ns, const std::string& name) {
    auto got = registry_->Get({kind, ns, name});
    return got.ok();
  }
  bool Exists(const std::string& kind, const std::string& name) {
    return Exists(kind, "default", name);
  }

  // Every pod of `ns` with its phase, from the registry.
  std::vector<v1::Pod> Pods(const std::string& ns = "default", const std::string& selector = "") {
    std::vector<v1::Pod> out;
    auto list = registry_->List({.kind = "Pod", .namespace_ = ns, .label_selector = selector});
    EXPECT_TRUE(list.ok());
    if (!list.ok()) return out;
    for (auto& o : list->items) out.push_back(o.pod());
    return out;
  }

  // An object with an owner reference to `owner` (blockOwnerDeletion set).
  static void AddOwner(v1::Object& object, const v1::Object& owner, bool controller = false) {
    const auto* kind = api::KindOf(owner);
    auto* ref = api::MutableMeta(object)->add_owner_references();
    ref->set_api_version(std::string(kind->api_version));
    ref->set_kind(std::string(kind->kind));
    ref->set_name(api::MetaOf(owner).name());
    ref->set_uid(api::MetaOf(owner).uid());
    ref->set_block_owner_deletion(true);
    if (controller) ref->set_controller(true);
  }

  static v1::Object ConfigMap(const std::string& name, const std::string& ns = "default") {
    v1::Object o;
    o.mutable_config_map()->mutable_metadata()->set_name(name);
    o.mutable_config_map()->mutable_metadata()->set_namespace_(ns);
    (*o.mutable_config_map()->mutable_data())["k"] = "v";
    return o;
  }

  static v1::Object Node(const std::string& name, const std::map<std::string, std::string>& labels,
                         const std::string& taint = "") {
    v1::Object o;
    v1::Node* node = o.mutable_node();
    node->mutable_metadata()->set_name(name);
    for (const auto& [k, v] : labels) (*node->mutable_metadata()->mutable_labels())[k] = v;
    if (!taint.empty()) {
      // "key=value:Effect"
      const size_t eq = taint.find('='), colon = taint.find(':');
      v1::Taint* t = node->mutable_spec()->add_taints();
      t->set_key(taint.substr(0, eq));
      t->set_value(taint.substr(eq + 1, colon - eq - 1));
      t->set_effect(taint.substr(colon + 1));
    }
    return o;
  }

  // What a node's agent does for a pod: Running and Ready.
  void MarkReady(const v1::Pod& pod) {
    auto marked = registry_->Modify({"Pod", pod.metadata().namespace_(), pod.metadata().name()},
                                    [](v1::Object& o) {
                                      auto* status = o.mutable_pod()->mutable_status();
                                      if (status->phase() == "Running") return false;
                                      status->set_phase("Running");
                                      auto* ready = status->add_conditions();
                                      ready->set_type("Ready");
                                      ready->set_status("True");
                                      return true;
                                    },
                                    {.status = true});
    EXPECT_TRUE(marked.ok() || marked.error().err() == ENOENT) << marked.error().ToString();
  }

  void SetPhase(const v1::Pod& pod, const std::string& phase) {
    auto set = registry_->Modify({"Pod", pod.metadata().namespace_(), pod.metadata().name()},
                                 [&](v1::Object& o) {
                                   o.mutable_pod()->mutable_status()->set_phase(phase);
                                   return true;
                                 },
                                 {.status = true});
    ASSERT_OK(set);
  }

  // What a node's agent does once a pod's containers stopped: the final
  // delete with grace 0.
  void FinishDeletions(const std::string& ns = "default") {
    for (const auto& pod : Pods(ns)) {
      if (!pod.metadata().has_deletion_timestamp()) continue;
      DeleteOptions now;
      now.grace_period_seconds = 0;
      auto deleted = registry_->Delete({"Pod", ns, pod.metadata().name()}, now);
      EXPECT_TRUE(deleted.ok() || deleted.error().err() == ENOENT) << deleted.error().ToString();
    }
  }
};

}  // namespace berth::control
