// Service, Endpoints, ConfigMap, Secret, Namespace, Node, ResourceQuota,
// LimitRange, PriorityClass, Event and Lease rules.
#include "validation_test_util.h"

namespace berth::control {
namespace {

using ::testing::IsEmpty;
using namespace testutil;  // NOLINT(google-build-using-namespace): test builders

v1::ServiceSpec& SvcSpec(v1::Object& o) { return *o.mutable_service()->mutable_spec(); }
v1::ServicePort& AddServicePort(v1::Object& o, const std::string& name, int port) {
  v1::ServicePort* p = SvcSpec(o).add_ports();
  p->set_name(name);
  p->set_port(port);
  return *p;
}

TEST(ValidateServiceTest, Rules) {
  RunCases(
      [] { return Service(); },
      {
          {"node port",
           [](v1::Object& o) {
             SvcSpec(o).set_type("NodePort");
             SvcSpec(o).mutable_ports(0)->set_node_port(30080);
           },
           ""},
          {"headless without ports",
           [](v1::Object& o) {
             SvcSpec(o).set_cluster_ip("None");
             SvcSpec(o).clear_ports();
           },
           ""},
          {"external name",
           [](v1::Object& o) {
             SvcSpec(o).set_type("ExternalName");
             SvcSpec(o).set_external_name("db.example.com.");
             SvcSpec(o).clear_ports();
             SvcSpec(o).clear_selector();
           },
           ""},
          {"named target port, two named ports",
           [](v1::Object& o) {
             SvcSpec(o).mutable_ports(0)->set_name("http");
             *AddServicePort(o, "metrics", 9090).mutable_target_port() = StringValue("prom");
           },
           ""},
          {"explicit cluster ip", [](v1::Object& o) { SvcSpec(o).set_cluster_ip("10.96.0.10"); },
           ""},
          {"load balancer", [](v1::Object& o) { SvcSpec(o).set_type("LoadBalancer"); },
           "spec.type: Unsupported value: \"LoadBalancer\": supported values: \"ClusterIP\", "
           "\"ExternalName\", \"NodePort\""},
          {"no ports", [](v1::Object& o) { SvcSpec(o).clear_ports(); },
           "spec.ports: Required value"},
          {"port zero", [](v1::Object& o) { SvcSpec(o).mutable_ports(0)->set_port(0); },
           "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"},
          {"unnamed among two", [](v1::Object& o) { AddServicePort(o, "metrics", 9090); },
           "spec.ports[0].name: Required value"},
          {"duplicate names",
           [](v1::Object& o) {
             SvcSpec(o).mutable_ports(0)->set_name("http");
             AddServicePort(o, "http", 8080);
           },
           "spec.ports[1].name: Duplicate value: \"http\""},
          {"duplicate port and protocol",
           [](v1::Object& o) {
             SvcSpec(o).mutable_ports(0)->set_name("a");
             AddServicePort(o, "b", 80);
           },
           "spec.ports[1]: Duplicate value: \"80/TCP\""},
          {"port name not a label",
           [](v1::Object& o) { SvcSpec(o).mutable_ports(0)->set_name("HTTP"); },
           "spec.ports[0].name: Invalid value: \"HTTP\": must be a DNS-1123 label"},
          {"bad protocol", [](v1::Object& o) { SvcSpec(o).mutable_ports(0)->set_protocol("ICMP"); },
           "spec.ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", "
           "\"TCP\", \"UDP\""},
          {"target port out of range",
           [](v1::Object& o) {
             *SvcSpec(o).mutable_ports(0)->mutable_target_port() = IntValue(70000);
           },
           "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, "
           "inclusive"},
          {"target port bad name",
           [](v1::Object& o) {
             *SvcSpec(o).mutable_ports(0)->mutable_target_port() = StringValue("-web");
           },
           "spec.ports[0].targetPort: Invalid value: \"-web\": must not begin or end with a "
           "hyphen"},
          {"node port on ClusterIP",
           [](v1::Object& o) { SvcSpec(o).mutable_ports(0)->set_node_port(30080); },
           "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
          {"node port out of range",
           [](v1::Object& o) {
             SvcSpec(o).set_type("NodePort");
             SvcSpec(o).mutable_ports(0)->set_node_port(70000);
           },
           "spec.ports[0].nodePort: Invalid value: 70000: must be between 1 and 65535, inclusive"},
          {"external name missing", [](v1::Object& o) { SvcSpec(o).set_type("ExternalName"); },
           "spec.externalName: Required value"},
          {"external name invalid",
           [](v1::Object& o) {
             SvcSpec(o).set_type("ExternalName");
             SvcSpec(o).set_external_name("DB_host");
           },
           "spec.externalName: Invalid value: \"DB_host\": must be a DNS-1123 subdomain"},
          {"external name with cluster ip",
           [](v1::Object& o) {
             SvcSpec(o).set_type("ExternalName");
             SvcSpec(o).set_external_name("db.example.com");
             SvcSpec(o).set_cluster_ip("10.96.0.10");
           },
           "spec.clusterIP: Forbidden: may not be set for ExternalName services"},
          {"cluster ip invalid", [](v1::Object& o) { SvcSpec(o).set_cluster_ip("10.96.0"); },
           "spec.clusterIP: Invalid value: \"10.96.0\": must be empty, 'None', or a valid IP "
           "address"},
          {"headless node port",
           [](v1::Object& o) {
             SvcSpec(o).set_type("NodePort");
             SvcSpec(o).set_cluster_ip("None");
           },
           "spec.clusterIP: Invalid value: \"None\": may not be set to 'None' for NodePort "
           "services"},
          {"bad selector", [](v1::Object& o) { (*SvcSpec(o).mutable_selector())["app"] = "web!"; },
           "spec.selector: Invalid value: \"web!\": at most 63 characters [A-Za-z0-9-_.], "
           "starting and ending alphanumeric, or empty"},
          {"session affinity", [](v1::Object& o) { SvcSpec(o).set_session_affinity("Cookie"); },
           "spec.sessionAffinity: Unsupported value: \"Cookie\": supported values: \"ClientIP\", "
           "\"None\""},
          {"client ip timeout zero",
           [](v1::Object& o) {
             SvcSpec(o).set_session_affinity("ClientIP");
             SvcSpec(o).mutable_session_affinity_config()->mutable_client_ip()->set_timeout_seconds(
                 0);
           },
           "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater "
           "than 0 and less than 86400"},
          {"client ip timeout a day",
           [](v1::Object& o) {
             SvcSpec(o).set_session_affinity("ClientIP");
             SvcSpec(o).mutable_session_affinity_config()->mutable_client_ip()->set_timeout_seconds(
                 86400);
           },
           ""},
          {"config with None",
           [](v1::Object& o) {
             SvcSpec(o).mutable_session_affinity_config()->mutable_client_ip()->set_timeout_seconds(
                 5);
           },
           "spec.sessionAffinityConfig: Invalid value: must not be set when session affinity is "
           "None"},
      });
}

TEST(ValidateEndpointsTest, Rules) {
  auto subset = [](v1::Object& o) -> v1::EndpointSubset& {
    return *o.mutable_endpoints()->mutable_subsets(0);
  };
  RunCases([] { return Endpoints(); },
           {
               {"not ready only",
                [&](v1::Object& o) {
                  subset(o).clear_addresses();
                  subset(o).add_not_ready_addresses()->set_ip("fd00::5");
                },
                ""},
               {"no addresses", [&](v1::Object& o) { subset(o).clear_addresses(); },
                "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"},
               {"bad ip", [&](v1::Object& o) { subset(o).mutable_addresses(0)->set_ip("pod-1"); },
                "subsets[0].addresses[0].ip: Invalid value: \"pod-1\": must be a valid IP address, "
                "(e.g. 10.9.8.7 or 2001:db8::ffff)"},
               {"bad port", [&](v1::Object& o) { subset(o).mutable_ports(0)->set_port(0); },
                "subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, "
                "inclusive"},
           });
}

TEST(ValidateConfigMapTest, Rules) {
  auto data = [](v1::Object & o) -> auto& { return *o.mutable_config_map()->mutable_data(); };
  auto binary = [](v1::Object & o) -> auto& {
    return *o.mutable_config_map()->mutable_binary_data();
  };
  RunCases([] { return ConfigMap(); },
           {
               {"keys with dots and underscores",
                [&](v1::Object& o) {
                  data(o)["APP_ENV"] = "prod";
                  data(o)[".hidden"] = "x";
                  binary(o)["logo.png"] = std::string("\x89PNG", 4);
                },
                ""},
               {"slash in key", [&](v1::Object& o) { data(o)["conf/app"] = "x"; },
                "data[conf/app]: Invalid value: \"conf/app\": a valid config key must consist of "
                "alphanumeric characters, '-', '_' or '.'"},
               {"dot dot", [&](v1::Object& o) { data(o)[".."] = "x"; },
                "data[..]: Invalid value: \"..\": must not be '..'"},
               {"starts with dot dot", [&](v1::Object& o) { binary(o)["..data"] = "x"; },
                "binaryData[..data]: Invalid value: \"..data\": must not start with '..'"},
               {"key too long", [&](v1::Object& o) { data(o)[std::string(254, 'k')] = "x"; },
                "data[" + std::string(254, 'k') + "]: Invalid value: \"" + std::string(254, 'k') +
                    "\": must be no more than 253 characters"},
               {"in both maps", [&](v1::Object& o) { binary(o)["app.conf"] = "x"; },
                "data[app.conf]: Invalid value: \"app.conf\": duplicate of key present in "
                "binaryData"},
               {"too large",
                [&](v1::Object& o) {
                  data(o)["a"] = std::string(size_t{600} * 1024, 'a');
                  binary(o)["b"] = std::string(size_t{600} * 1024, 'b');
                },
                "Too long: must have at most 1048576 bytes"},
           });
}

TEST(ValidateSecretTest, Rules) {
  auto secret = [](v1::Object& o) -> v1::Secret& { return *o.mutable_secret(); };
  RunCases([] { return Secret(); },
           {
               {"tls",
                [&](v1::Object& o) {
                  secret(o).set_type("kubernetes.io/tls");
                  (*secret(o).mutable_data())["tls.crt"] = "c";
                  (*secret(o).mutable_data())["tls.key"] = "k";
                },
                ""},
               {"tls from stringData",
                [&](v1::Object& o) {
                  secret(o).set_type("kubernetes.io/tls");
                  (*secret(o).mutable_string_data())["tls.crt"] = "c";
                  (*secret(o).mutable_string_data())["tls.key"] = "k";
                },
                ""},
               {"tls without key",
                [&](v1::Object& o) {
                  secret(o).set_type("kubernetes.io/tls");
                  (*secret(o).mutable_data())["tls.crt"] = "c";
                },
                "data[tls.key]: Required value"},
               {"docker config json",
                [&](v1::Object& o) {
                  secret(o).set_type("kubernetes.io/dockerconfigjson");
                  (*secret(o).mutable_data())[".dockerconfigjson"] = R"({"auths":{}})";
                },
                ""},
               {"docker config not json",
                [&](v1::Object& o) {
                  secret(o).set_type("kubernetes.io/dockerconfigjson");
                  (*secret(o).mutable_data())[".dockerconfigjson"] = "auths";
                },
                "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": must be a "
                "JSON object"},
               {"basic auth without either",
                [&](v1::Object& o) {
                  secret(o).set_type("kubernetes.io/basic-auth");
                  secret(o).mutable_data()->clear();
                },
                "data[username]: Required value"},
               {"ssh auth", [&](v1::Object& o) { secret(o).set_type("kubernetes.io/ssh-auth"); },
                "data[ssh-privatekey]: Required value"},
               {"bad key", [&](v1::Object& o) { (*secret(o).mutable_data())["a b"] = "x"; },
                "data[a b]: Invalid value: \"a b\": a valid config key must consist of "
                "alphanumeric characters, '-', '_' or '.'"},
               {"bad stringData key is reported under data after merging",
                [&](v1::Object& o) { (*secret(o).mutable_string_data())["a:b"] = "x"; },
                "data[a:b]: Invalid value: \"a:b\": a valid config key must consist of "
                "alphanumeric characters, '-', '_' or '.'"},
               {"too large",
                [&](v1::Object& o) {
                  (*secret(o).mutable_data())["big"] = std::string(size_t{1024} * 1024 + 1, 'x');
                },
                "data: Too long: must have at most 1048576 bytes"},
           });
}

TEST(ValidateNamespaceTest, Rules) {
  RunCases(
      [] { return Namespace(); },
      {
          {"kubernetes finalizer",
           [](v1::Object& o) {
             o.mutable_namespace_()->mutable_spec()->add_finalizers("kubernetes");
           },
           ""},
          {"unqualified finalizer",
           [](v1::Object& o) { o.mutable_namespace_()->mutable_spec()->add_finalizers("mine"); },
           "spec.finalizers[0]: Invalid value: \"mine\": name is neither a standard finalizer "
           "name nor is it fully qualified"},
      });
}

v1::Taint& AddTaint(v1::Object& o, const std::string& key, const std::string& effect) {
  v1::Taint* t = o.mutable_node()->mutable_spec()->add_taints();
  t->set_key(key);
  t->set_effect(effect);
  return *t;
}

TEST(ValidateNodeTest, Rules) {
  auto spec = [](v1::Object& o) -> v1::NodeSpec& { return *o.mutable_node()->mutable_spec(); };
  RunCases([] { return Node(); },
           {
               {"taints and cidrs",
                [&](v1::Object& o) {
                  AddTaint(o, "dedicated", "NoSchedule").set_value("gpu");
                  AddTaint(o, "dedicated", "NoExecute");
                  spec(o).set_pod_cidr("10.244.1.0/24");
                  spec(o).add_pod_cidrs("10.244.1.0/24");
                  spec(o).add_pod_cidrs("fd00:1::/64");
                },
                ""},
               {"taint without effect", [](v1::Object& o) { AddTaint(o, "dedicated", ""); },
                "spec.taints[0].effect: Required value"},
               {"taint bad effect", [](v1::Object& o) { AddTaint(o, "dedicated", "NoRun"); },
                "spec.taints[0].effect: Unsupported value: \"NoRun\": supported values: "
                "\"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""},
               {"taint bad key", [](v1::Object& o) { AddTaint(o, "bad key", "NoSchedule"); },
                "spec.taints[0].key: Invalid value: \"bad key\": a name of at most 63 characters "
                "[A-Za-z0-9-_.], starting and ending alphanumeric"},
               {"duplicate taint",
                [](v1::Object& o) {
                  AddTaint(o, "dedicated", "NoSchedule").set_value("a");
                  AddTaint(o, "dedicated", "NoSchedule").set_value("b");
                },
                "spec.taints[1]: Duplicate value: \"dedicated=b:NoSchedule\": taints must be "
                "unique by key and effect pair"},
               {"bad pod cidr", [&](v1::Object& o) { spec(o).set_pod_cidr("10.244.1.0/33"); },
                "spec.podCIDR: Invalid value: \"10.244.1.0/33\": must be a valid CIDR value, (e.g. "
                "10.9.8.0/24 or 2001:db8::/64)"},
               {"two v4 cidrs",
                [&](v1::Object& o) {
                  spec(o).add_pod_cidrs("10.244.1.0/24");
                  spec(o).add_pod_cidrs("10.245.1.0/24");
                },
                "spec.podCIDRs: Invalid value: may specify no more than one CIDR for each IP "
                "family"},
           });
}

TEST(ValidateResourceQuotaTest, Rules) {
  auto hard = [](v1::Object & o) -> auto& {
    return *o.mutable_resource_quota()->mutable_spec()->mutable_hard();
  };
  RunCases([] { return ResourceQuota(); },
           {
               {"every standard name",
                [&](v1::Object& o) {
                  hard(o)["cpu"] = "4";
                  hard(o)["memory"] = "8Gi";
                  hard(o)["requests.cpu"] = "2500m";
                  hard(o)["requests.memory"] = "4Gi";
                  hard(o)["limits.cpu"] = "8";
                  hard(o)["limits.memory"] = "16Gi";
                  hard(o)["services"] = "5";
                  hard(o)["secrets"] = "1k";
                  hard(o)["configmaps"] = "20";
                  hard(o)["count/deployments.apps"] = "3";
                },
                ""},
               {"unknown resource", [&](v1::Object& o) { hard(o)["replicationcontrollers"] = "1"; },
                "spec.hard[replicationcontrollers]: Invalid value: \"replicationcontrollers\": "
                "must be a standard resource for quota (pods, cpu, memory, requests.cpu, "
                "requests.memory, limits.cpu, limits.memory, services, secrets, configmaps) or "
                "count/<resource>"},
               {"count without resource", [&](v1::Object& o) { hard(o)["count/"] = "1"; },
                "spec.hard[count/]: Invalid value: \"count/\": must be a standard resource for "
                "quota (pods, cpu, memory, requests.cpu, requests.memory, limits.cpu, "
                "limits.memory, services, secrets, configmaps) or count/<resource>"},
               {"fractional pods", [&](v1::Object& o) { hard(o)["pods"] = "1500m"; },
                "spec.hard[pods]: Invalid value: \"1500m\": must be an integer"},
               {"negative memory", [&](v1::Object& o) { hard(o)["memory"] = "-1Gi"; },
                "spec.hard[memory]: Invalid value: \"-1Gi\": must be greater than or equal to 0"},
               {"not a quantity", [&](v1::Object& o) { hard(o)["cpu"] = "four"; },
                "spec.hard[cpu]: Invalid value: \"four\": quantities must match the regular "
                "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
           });
}

TEST(ValidateLimitRangeTest, Rules) {
  auto item = [](v1::Object& o) -> v1::LimitRangeItem& {
    return *o.mutable_limit_range()->mutable_spec()->mutable_limits(0);
  };
  RunCases(
      [] { return LimitRange(); },
      {
          {"pod type with max",
           [&](v1::Object& o) {
             v1::LimitRangeItem* pod = o.mutable_limit_range()->mutable_spec()->add_limits();
             pod->set_type("Pod");
             (*pod->mutable_max())["memory"] = "2Gi";
           },
           ""},
          {"ordered", [&](v1::Object& o) { (*item(o).mutable_default_())["cpu"] = "1"; }, ""},
          {"bad type", [&](v1::Object& o) { item(o).set_type("PersistentVolumeClaim"); },
           "spec.limits[0].type: Unsupported value: \"PersistentVolumeClaim\": supported "
           "values: \"Container\", \"Pod\""},
          {"duplicate type",
           [&](v1::Object& o) {
             o.mutable_limit_range()->mutable_spec()->add_limits()->set_type("Container");
           },
           "spec.limits[1].type: Duplicate value: \"Container\""},
          {"min above max", [&](v1::Object& o) { (*item(o).mutable_min())["cpu"] = "3"; },
           "spec.limits[0].min[cpu]: Invalid value: 3: min value 3 is greater than max value "
           "2"},
          {"default above max", [&](v1::Object& o) { (*item(o).mutable_default_())["cpu"] = "4"; },
           "spec.limits[0].default[cpu]: Invalid value: 2: default value 4 is greater than "
           "max value 2"},
          {"default request above default",
           [&](v1::Object& o) {
             (*item(o).mutable_default_())["cpu"] = "1";
             (*item(o).mutable_default_request())["cpu"] = "1500m";
           },
           "spec.limits[0].defaultRequest[cpu]: Invalid value: 1500m: default request value "
           "1500m is greater than default limit value 1"},
          {"pod type with default",
           [&](v1::Object& o) {
             item(o).set_type("Pod");
             (*item(o).mutable_default_())["cpu"] = "1";
           },
           "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"},
          {"unsupported resource",
           [&](v1::Object& o) { (*item(o).mutable_max())["storage"] = "1Gi"; },
           "spec.limits[0].max[storage]: Unsupported value: \"storage\": supported values: "
           "\"cpu\", \"memory\""},
          {"bad quantity", [&](v1::Object& o) { (*item(o).mutable_min())["memory"] = "1GB"; },
           "spec.limits[0].min[memory]: Invalid value: \"1GB\": quantities must match the "
           "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
      });
}

TEST(ValidatePriorityClassTest, Rules) {
  auto pc = [](v1::Object& o) -> v1::PriorityClass& { return *o.mutable_priority_class(); };
  RunCases(
      [] { return PriorityClass(); },
      {
          {"highest user value", [&](v1::Object& o) { pc(o).set_value(1000000000); }, ""},
          {"system class above",
           [&](v1::Object& o) {
             pc(o).mutable_metadata()->set_name("system-node-critical");
             pc(o).set_value(2000001000);
           },
           ""},
          {"never preempts", [&](v1::Object& o) { pc(o).set_preemption_policy("Never"); }, ""},
          {"user value too high", [&](v1::Object& o) { pc(o).set_value(1000000001); },
           "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"},
          {"preemption policy", [&](v1::Object& o) { pc(o).set_preemption_policy("Sometimes"); },
           "preemptionPolicy: Unsupported value: \"Sometimes\": supported values: "
           "\"PreemptLowerPriority\", \"Never\""},
      });
}

TEST(ValidateEventTest, Rules) {
  auto ev = [](v1::Object& o) -> v1::Event& { return *o.mutable_event(); };
  RunCases([] { return Event(); },
           {
               {"warning in the object's namespace",
                [&](v1::Object& o) {
                  ev(o).set_type("Warning");
                  ev(o).mutable_metadata()->set_namespace_("team-a");
                  ev(o).mutable_involved_object()->set_namespace_("team-a");
                },
                ""},
               {"cluster-scoped object in default",
                [&](v1::Object& o) { ev(o).mutable_involved_object()->set_kind("Node"); }, ""},
               {"no kind", [&](v1::Object& o) { ev(o).mutable_involved_object()->clear_kind(); },
                "involvedObject.kind: Required value"},
               {"no name", [&](v1::Object& o) { ev(o).mutable_involved_object()->clear_name(); },
                "involvedObject.name: Required value"},
               {"bad type", [&](v1::Object& o) { ev(o).set_type("Error"); },
                "type: Unsupported value: \"Error\": supported values: \"Normal\", \"Warning\""},
               {"no type", [&](v1::Object& o) { ev(o).clear_type(); }, "type: Required value"},
               {"namespace mismatch",
                [&](v1::Object& o) { ev(o).mutable_involved_object()->set_namespace_("team-b"); },
                "involvedObject.namespace: Invalid value: \"team-b\": does not match "
                "event.namespace"},
           });
}

TEST(ValidateLeaseTest, Rules) {
  auto spec = [](v1::Object& o) -> v1::LeaseSpec& { return *o.mutable_lease()->mutable_spec(); };
  RunCases([] { return Lease(); },
           {
               {"no duration", [&](v1::Object& o) { spec(o).clear_lease_duration_seconds(); }, ""},
               {"zero duration", [&](v1::Object& o) { spec(o).set_lease_duration_seconds(0); },
                "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"},
               {"negative transitions", [&](v1::Object& o) { spec(o).set_lease_transitions(-1); },
                "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"},
           });
}

TEST(ValidateCoreTest, ValidObjectsHaveNoErrors) {
  for (const v1::Object& o : {Service(), Endpoints(), ConfigMap(), Secret(), Namespace(), Node(),
                              ResourceQuota(), LimitRange(), PriorityClass(), Event(), Lease()}) {
    EXPECT_THAT(Check(o), IsEmpty()) << KindOf(o);
  }
}

}  // namespace
}  // namespace berth::control
