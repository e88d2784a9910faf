// Builders of minimal valid objects of every kind and a table-driven
// checker: each case mutates a valid object and names the one rendered
// error ("path: detail") it must produce, or none.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "berth/control/validation.h"

namespace berth::control::testutil {

inline v1::Container MakeContainer(const std::string& name, const std::string& image) {
  v1::Container c;
  c.set_name(name);
  c.set_image(image);
  return c;
}

inline v1::PodSpec MakePodSpec() {
  v1::PodSpec spec;
  *spec.add_containers() = MakeContainer("app", "nginx:1.25");
  return spec;
}

inline void SetMeta(v1::ObjectMeta* meta, const std::string& name) { meta->set_name(name); }

inline v1::Object Pod(const std::string& name = "web") {
  v1::Object o;
  SetMeta(o.mutable_pod()->mutable_metadata(), name);
  *o.mutable_pod()->mutable_spec() = MakePodSpec();
  return o;
}

inline v1::PodTemplateSpec Template(const std::string& app) {
  v1::PodTemplateSpec t;
  (*t.mutable_metadata()->mutable_labels())["app"] = app;
  *t.mutable_spec() = MakePodSpec();
  return t;
}

inline v1::Object Deployment(const std::string& name = "web") {
  v1::Object o;
  v1::Deployment& d = *o.mutable_deployment();
  SetMeta(d.mutable_metadata(), name);
  (*d.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = name;
  *d.mutable_spec()->mutable_template_() = Template(name);
  return o;
}

inline v1::Object ReplicaSet(const std::string& name = "web") {
  v1::Object o;
  v1::ReplicaSet& rs = *o.mutable_replica_set();
  SetMeta(rs.mutable_metadata(), name);
  (*rs.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = name;
  *rs.mutable_spec()->mutable_template_() = Template(name);
  return o;
}

inline v1::Object DaemonSet(const std::string& name = "agent") {
  v1::Object o;
  v1::DaemonSet& ds = *o.mutable_daemon_set();
  SetMeta(ds.mutable_metadata(), name);
  (*ds.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = name;
  *ds.mutable_spec()->mutable_template_() = Template(name);
  return o;
}

inline v1::Object Job(const std::string& name = "pi") {
  v1::Object o;
  v1::Job& job = *o.mutable_job();
  SetMeta(job.mutable_metadata(), name);
  job.mutable_metadata()->set_uid("0b6a4c1e-uid");
  *job.mutable_spec()->mutable_template_()->mutable_spec() = MakePodSpec();
  job.mutable_spec()->mutable_template_()->mutable_spec()->set_restart_policy("Never");
  return o;
}

inline v1::Object Service(const std::string& name = "web") {
  v1::Object o;
  v1::Service& svc = *o.mutable_service();
  SetMeta(svc.mutable_metadata(), name);
  (*svc.mutable_spec()->mutable_selector())["app"] = name;
  v1::ServicePort* p = svc.mutable_spec()->add_ports();
  p->set_port(80);
  return o;
}

inline v1::Object Endpoints(const std::string& name = "web") {
  v1::Object o;
  SetMeta(o.mutable_endpoints()->mutable_metadata(), name);
  v1::EndpointSubset* s = o.mutable_endpoints()->add_subsets();
  s->add_addresses()->set_ip("10.244.0.5");
  s->add_ports()->set_port(8080);
  return o;
}

inline v1::Object ConfigMap(const std::string& name = "settings") {
  v1::Object o;
  SetMeta(o.mutable_config_map()->mutable_metadata(), name);
  (*o.mutable_config_map()->mutable_data())["app.conf"] = "x=1";
  return o;
}

inline v1::Object Secret(const std::string& name = "creds") {
  v1::Object o;
  SetMeta(o.mutable_secret()->mutable_metadata(), name);
  (*o.mutable_secret()->mutable_data())["password"] = "hunter2";
  return o;
}

inline v1::Object Namespace(const std::string& name = "team-a") {
  v1::Object o;
  SetMeta(o.mutable_namespace_()->mutable_metadata(), name);
  return o;
}

inline v1::Object Node(const std::string& name = "node-1") {
  v1::Object o;
  SetMeta(o.mutable_node()->mutable_metadata(), name);
  return o;
}

inline v1::Object ResourceQuota(const std::string& name = "quota") {
  v1::Object o;
  SetMeta(o.mutable_resource_quota()->mutable_metadata(), name);
  (*o.mutable_resource_quota()->mutable_spec()->mutable_hard())["pods"] = "10";
  return o;
}

inline v1::Object LimitRange(const std::string& name = "limits") {
  v1::Object o;
  SetMeta(o.mutable_limit_range()->mutable_metadata(), name);
  v1::LimitRangeItem* item = o.mutable_limit_range()->mutable_spec()->add_limits();
  item->set_type("Container");
  (*item->mutable_max())["cpu"] = "2";
  (*item->mutable_min())["cpu"] = "100m";
  return o;
}

inline v1::Object PriorityClass(const std::string& name = "high") {
  v1::Object o;
  SetMeta(o.mutable_priority_class()->mutable_metadata(), name);
  o.mutable_priority_class()->set_value(1000);
  return o;
}

inline v1::Object Event(const std::string& name = "web.17a2b3c4") {
  v1::Object o;
  v1::Event& e = *o.mutable_event();
  SetMeta(e.mutable_metadata(), name);
  e.mutable_involved_object()->set_kind("Pod");
  e.mutable_involved_object()->set_name("web");
  e.set_reason("Scheduled");
  e.set_type("Normal");
  return o;
}

inline v1::Object Lease(const std::string& name = "node-1") {
  v1::Object o;
  SetMeta(o.mutable_lease()->mutable_metadata(), name);
  o.mutable_lease()->mutable_spec()->set_holder_identity("node-1");
  o.mutable_lease()->mutable_spec()->set_lease_duration_seconds(40);
  return o;
}

inline std::vector<std::string> Render(const std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  out.reserve(errors.size());
  for (const FieldError& e : errors) out.push_back(e.ToString());
  return out;
}

// ApplyDefaults, then Validate: what a create sees.
inline std::vector<std::string> Check(v1::Object o) {
  ApplyDefaults(o);
  return Render(Validate(o));
}

// One row of a rule table: `mutate` breaks (or keeps valid) a fresh object
// from `make`; `want` is the rendered error it must produce ("" = valid).
struct Case {
  std::string name;
  std::function<void(v1::Object&)> mutate;
  std::string want;
};

inline void RunCases(const std::function<v1::Object()>& make, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::Object o = make();
    c.mutate(o);
    const std::vector<std::string> errors = Check(o);
    if (c.want.empty()) {
      EXPECT_THAT(errors, ::testing::IsEmpty());
    } else {
      EXPECT_THAT(errors, ::testing::Contains(c.want));
    }
  }
}

// Shorthands to reach into the envelope.
inline v1::PodSpec& PodSpecOf(v1::Object& o) { return *o.mutable_pod()->mutable_spec(); }
inline v1::Container& FirstContainer(v1::Object& o) { return *PodSpecOf(o).mutable_containers(0); }
inline v1::DeploymentSpec& DeploySpec(v1::Object& o) {
  return *o.mutable_deployment()->mutable_spec();
}
inline v1::PodSpec& DeployPodSpec(v1::Object& o) {
  return *DeploySpec(o).mutable_template_()->mutable_spec();
}

inline google::protobuf::Value IntValue(int n) {
  google::protobuf::Value v;
  v.set_number_value(n);
  return v;
}

inline google::protobuf::Value StringValue(const std::string& s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

}  // namespace berth::control::testutil
