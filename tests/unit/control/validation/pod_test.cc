// Pod rules: containers, ports, env, resources, volumes and mounts, probes,
// security contexts, restart policy, tolerations and affinity. Each table
// starts from a valid defaulted Pod and breaks one thing.
#include "validation_test_util.h"

namespace berth::control {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace testutil;  // NOLINT(google-build-using-namespace): test builders

v1::Object MakePod() { return Pod(); }

TEST(ValidatePodTest, ValidPodHasNoErrors) { EXPECT_THAT(Check(Pod()), IsEmpty()); }

TEST(ValidatePodTest, Containers) {
  RunCases(
      MakePod,
      {
          {"none", [](v1::Object& o) { PodSpecOf(o).clear_containers(); },
           "spec.containers: Required value"},
          {"image missing", [](v1::Object& o) { FirstContainer(o).clear_image(); },
           "spec.containers[0].image: Required value"},
          {"image with spaces", [](v1::Object& o) { FirstContainer(o).set_image(" nginx"); },
           "spec.containers[0].image: Invalid value: \" nginx\": must not have leading or "
           "trailing whitespace"},
          {"name missing", [](v1::Object& o) { FirstContainer(o).clear_name(); },
           "spec.containers[0].name: Required value"},
          {"name not a label", [](v1::Object& o) { FirstContainer(o).set_name("App_1"); },
           "spec.containers[0].name: Invalid value: \"App_1\": must be a DNS-1123 label"},
          {"duplicate across init and app",
           [](v1::Object& o) {
             *PodSpecOf(o).add_init_containers() = MakeContainer("app", "busybox");
           },
           "spec.containers[0].name: Duplicate value: \"app\""},
          {"duplicate app",
           [](v1::Object& o) { *PodSpecOf(o).add_containers() = MakeContainer("app", "redis"); },
           "spec.containers[1].name: Duplicate value: \"app\""},
          {"second container fine",
           [](v1::Object& o) {
             *PodSpecOf(o).add_containers() = MakeContainer("sidecar", "redis");
           },
           ""},
          {"bad pull policy",
           [](v1::Object& o) { FirstContainer(o).set_image_pull_policy("Sometimes"); },
           "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported "
           "values: \"Always\", \"IfNotPresent\", \"Never\""},
          {"init container probe",
           [](v1::Object& o) {
             v1::Container c = MakeContainer("init", "busybox");
             c.mutable_readiness_probe()->mutable_exec()->add_command("true");
             *PodSpecOf(o).add_init_containers() = c;
           },
           "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init "
           "containers"},
          {"preStop without command",
           [](v1::Object& o) {
             FirstContainer(o).mutable_lifecycle()->mutable_pre_stop()->mutable_exec();
           },
           "spec.containers[0].lifecycle.preStop.exec.command: Required value"},
      });
}

v1::ContainerPort& AddPort(v1::Object& o, int port) {
  v1::ContainerPort* p = FirstContainer(o).add_ports();
  p->set_container_port(port);
  return *p;
}

TEST(ValidatePodTest, Ports) {
  RunCases(MakePod,
           {
               {"named udp with host port",
                [](v1::Object& o) {
                  v1::ContainerPort& p = AddPort(o, 53);
                  p.set_name("dns");
                  p.set_protocol("UDP");
                  p.set_host_port(53);
                  p.set_host_ip("0.0.0.0");
                },
                ""},
               {"container port 0", [](v1::Object& o) { AddPort(o, 0); },
                "spec.containers[0].ports[0].containerPort: Required value"},
               {"container port too big", [](v1::Object& o) { AddPort(o, 65536); },
                "spec.containers[0].ports[0].containerPort: Invalid value: 65536: must be between "
                "1 and 65535, inclusive"},
               {"host port negative", [](v1::Object& o) { AddPort(o, 80).set_host_port(-1); },
                "spec.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and "
                "65535, inclusive"},
               {"bad protocol", [](v1::Object& o) { AddPort(o, 80).set_protocol("HTTP"); },
                "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported "
                "values: \"SCTP\", \"TCP\", \"UDP\""},
               {"port name too long",
                [](v1::Object& o) { AddPort(o, 80).set_name("a-very-long-port-name"); },
                "spec.containers[0].ports[0].name: Invalid value: \"a-very-long-port-name\": must "
                "be no more than 15 characters"},
               {"port name digits only", [](v1::Object& o) { AddPort(o, 80).set_name("8080"); },
                "spec.containers[0].ports[0].name: Invalid value: \"8080\": must contain at least "
                "one letter (a-z)"},
               {"port name double hyphen", [](v1::Object& o) { AddPort(o, 80).set_name("a--b"); },
                "spec.containers[0].ports[0].name: Invalid value: \"a--b\": must not contain "
                "consecutive hyphens"},
               {"duplicate port name",
                [](v1::Object& o) {
                  AddPort(o, 80).set_name("http");
                  AddPort(o, 81).set_name("http");
                },
                "spec.containers[0].ports[1].name: Duplicate value: \"http\""},
               {"host ip", [](v1::Object& o) { AddPort(o, 80).set_host_ip("10.0.0"); },
                "spec.containers[0].ports[0].hostIP: Invalid value: \"10.0.0\": must be a valid IP "
                "address, (e.g. 10.9.8.7 or 2001:db8::ffff)"},
               {"host port clash across containers",
                [](v1::Object& o) {
                  AddPort(o, 80).set_host_port(8080);
                  v1::Container c = MakeContainer("b", "nginx:1");
                  c.add_ports()->set_container_port(81);
                  c.mutable_ports(0)->set_host_port(8080);
                  *PodSpecOf(o).add_containers() = c;
                },
                "spec.containers[1].ports[0].hostPort: Duplicate value: \"/TCP/8080\""},
           });
}

v1::EnvVar& AddEnv(v1::Object& o, const std::string& name) {
  v1::EnvVar* e = FirstContainer(o).add_env();
  e->set_name(name);
  return *e;
}

TEST(ValidatePodTest, Env) {
  RunCases(MakePod,
           {
               {"relaxed names",
                [](v1::Object& o) {
                  AddEnv(o, "my.var-1").set_value("x");
                  AddEnv(o, "1ST");
                },
                ""},
               {"empty name", [](v1::Object& o) { AddEnv(o, ""); },
                "spec.containers[0].env[0].name: Required value"},
               {"equals sign", [](v1::Object& o) { AddEnv(o, "A=B"); },
                "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment "
                "variable name must consist only of printable ASCII characters other than '='"},
               {"configMapKeyRef ok",
                [](v1::Object& o) {
                  auto* ref = AddEnv(o, "X").mutable_value_from()->mutable_config_map_key_ref();
                  ref->set_name("settings");
                  ref->set_key("app.conf");
                },
                ""},
               {"valueFrom empty", [](v1::Object& o) { AddEnv(o, "X").mutable_value_from(); },
                "spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: "
                "`configMapKeyRef` or `secretKeyRef`"},
               {"valueFrom two sources",
                [](v1::Object& o) {
                  auto* from = AddEnv(o, "X").mutable_value_from();
                  from->mutable_config_map_key_ref()->set_name("a");
                  from->mutable_config_map_key_ref()->set_key("k");
                  from->mutable_secret_key_ref()->set_name("b");
                  from->mutable_secret_key_ref()->set_key("k");
                },
                "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not have more than "
                "one field specified at a time"},
               {"value and valueFrom",
                [](v1::Object& o) {
                  v1::EnvVar& e = AddEnv(o, "X");
                  e.set_value("v");
                  e.mutable_value_from()->mutable_secret_key_ref()->set_name("s");
                  e.mutable_value_from()->mutable_secret_key_ref()->set_key("k");
                },
                "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified "
                "when `value` is not empty"},
               {"secretKeyRef without key",
                [](v1::Object& o) {
                  AddEnv(o, "X").mutable_value_from()->mutable_secret_key_ref()->set_name("s");
                },
                "spec.containers[0].env[0].valueFrom.secretKeyRef.key: Required value"},
               {"secretKeyRef without name",
                [](v1::Object& o) {
                  AddEnv(o, "X").mutable_value_from()->mutable_secret_key_ref()->set_key("k");
                },
                "spec.containers[0].env[0].valueFrom.secretKeyRef.name: Required value"},
               {"envFrom configMap",
                [](v1::Object& o) {
                  auto* e = FirstContainer(o).add_env_from();
                  e->set_prefix("CFG_");
                  e->mutable_config_map_ref()->set_name("settings");
                },
                ""},
               {"envFrom none", [](v1::Object& o) { FirstContainer(o).add_env_from(); },
                "spec.containers[0].envFrom[0]: Invalid value: \"\": must specify one of: "
                "`configMapRef` or `secretRef`"},
               {"envFrom both",
                [](v1::Object& o) {
                  auto* e = FirstContainer(o).add_env_from();
                  e->mutable_config_map_ref()->set_name("a");
                  e->mutable_secret_ref()->set_name("b");
                },
                "spec.containers[0].envFrom[0]: Invalid value: \"\": may not have more than one "
                "field specified at a time"},
               {"envFrom without name",
                [](v1::Object& o) { FirstContainer(o).add_env_from()->mutable_secret_ref(); },
                "spec.containers[0].envFrom[0].secretRef.name: Required value"},
           });
}

void SetResource(v1::Object& o, bool limit, const std::string& name, const std::string& value) {
  auto* r = FirstContainer(o).mutable_resources();
  (*(limit ? r->mutable_limits() : r->mutable_requests()))[name] = value;
}

TEST(ValidatePodTest, Resources) {
  RunCases(MakePod,
           {
               {"requests below limits",
                [](v1::Object& o) {
                  SetResource(o, false, "cpu", "250m");
                  SetResource(o, true, "cpu", "0.5");
                  SetResource(o, false, "memory", "64Mi");
                  SetResource(o, true, "memory", "1Gi");
                },
                ""},
               {"unsupported resource",
                [](v1::Object& o) { SetResource(o, true, "nvidia.com/gpu", "1"); },
                "spec.containers[0].resources.limits[nvidia.com/gpu]: Unsupported value: "
                "\"nvidia.com/gpu\": supported values: \"cpu\", \"memory\""},
               {"not a quantity", [](v1::Object& o) { SetResource(o, false, "memory", "lots"); },
                "spec.containers[0].resources.requests[memory]: Invalid value: \"lots\": "
                "quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
               {"negative", [](v1::Object& o) { SetResource(o, false, "cpu", "-1"); },
                "spec.containers[0].resources.requests[cpu]: Invalid value: \"-1\": must be "
                "greater than or equal to 0"},
               {"request above limit",
                [](v1::Object& o) {
                  SetResource(o, false, "cpu", "2");
                  SetResource(o, true, "cpu", "1");
                },
                "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than "
                "or equal to cpu limit"},
               {"memory request above limit",
                [](v1::Object& o) {
                  SetResource(o, false, "memory", "2Gi");
                  SetResource(o, true, "memory", "1Gi");
                },
                "spec.containers[0].resources.requests: Invalid value: \"2Gi\": must be less than "
                "or equal to memory limit"},
           });
}

v1::Volume& AddVolume(v1::Object& o, const std::string& name) {
  v1::Volume* v = PodSpecOf(o).add_volumes();
  v->set_name(name);
  return *v;
}

v1::VolumeMount& AddMount(v1::Object& o, const std::string& name, const std::string& path) {
  v1::VolumeMount* m = FirstContainer(o).add_volume_mounts();
  m->set_name(name);
  m->set_mount_path(path);
  return *m;
}

TEST(ValidatePodTest, VolumesAndMounts) {
  RunCases(
      MakePod,
      {
          {"every source",
           [](v1::Object& o) {
             AddVolume(o, "scratch").mutable_empty_dir()->set_size_limit("1Gi");
             AddVolume(o, "shm").mutable_empty_dir()->set_medium("Memory");
             AddVolume(o, "host").mutable_host_path()->set_path("/var/log");
             AddVolume(o, "cfg").mutable_config_map()->set_name("settings");
             AddVolume(o, "sec").mutable_secret()->set_secret_name("creds");
             AddMount(o, "scratch", "/scratch");
             AddMount(o, "cfg", "/etc/app").set_read_only(true);
           },
           ""},
          {"no source", [](v1::Object& o) { AddVolume(o, "data"); },
           "spec.volumes[0]: Required value: must specify a volume type"},
          {"two sources",
           [](v1::Object& o) {
             v1::Volume& v = AddVolume(o, "data");
             v.mutable_empty_dir();
             v.mutable_host_path()->set_path("/data");
           },
           "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"},
          {"duplicate name",
           [](v1::Object& o) {
             AddVolume(o, "data").mutable_empty_dir();
             AddVolume(o, "data").mutable_empty_dir();
           },
           "spec.volumes[1].name: Duplicate value: \"data\""},
          {"name not a label", [](v1::Object& o) { AddVolume(o, "Data").mutable_empty_dir(); },
           "spec.volumes[0].name: Invalid value: \"Data\": must be a DNS-1123 label"},
          {"relative host path",
           [](v1::Object& o) { AddVolume(o, "h").mutable_host_path()->set_path("var/log"); },
           "spec.volumes[0].hostPath.path: Invalid value: \"var/log\": must be an absolute "
           "path"},
          {"host path with ..",
           [](v1::Object& o) { AddVolume(o, "h").mutable_host_path()->set_path("/var/../etc"); },
           "spec.volumes[0].hostPath.path: Invalid value: \"/var/../etc\": must not contain "
           "'..'"},
          {"host path type",
           [](v1::Object& o) {
             auto* h = AddVolume(o, "h").mutable_host_path();
             h->set_path("/x");
             h->set_type("Folder");
           },
           "spec.volumes[0].hostPath.type: Unsupported value: \"Folder\": supported values: "
           "\"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", "
           "\"File\", \"FileOrCreate\", \"Socket\""},
          {"emptyDir medium",
           [](v1::Object& o) { AddVolume(o, "d").mutable_empty_dir()->set_medium("Disk"); },
           "spec.volumes[0].emptyDir.medium: Unsupported value: \"Disk\": supported values: "
           "\"\", \"Memory\""},
          {"emptyDir size",
           [](v1::Object& o) { AddVolume(o, "d").mutable_empty_dir()->set_size_limit("1 Gi"); },
           "spec.volumes[0].emptyDir.sizeLimit: Invalid value: \"1 Gi\": quantities must "
           "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
          {"defaultMode too big",
           [](v1::Object& o) {
             auto* c = AddVolume(o, "c").mutable_config_map();
             c->set_name("settings");
             c->set_default_mode(01000);
           },
           "spec.volumes[0].configMap.defaultMode: Invalid value: 512: must be a number "
           "between 0 and 0777 (octal), both inclusive"},
          {"secret without name", [](v1::Object& o) { AddVolume(o, "s").mutable_secret(); },
           "spec.volumes[0].secret.secretName: Required value"},
          {"mount of undeclared volume", [](v1::Object& o) { AddMount(o, "data", "/data"); },
           "spec.containers[0].volumeMounts[0].name: Not found: \"data\""},
          {"relative mount path",
           [](v1::Object& o) {
             AddVolume(o, "data").mutable_empty_dir();
             AddMount(o, "data", "data");
           },
           "spec.containers[0].volumeMounts[0].mountPath: Invalid value: \"data\": must be "
           "an absolute path"},
          {"mount path missing",
           [](v1::Object& o) {
             AddVolume(o, "data").mutable_empty_dir();
             AddMount(o, "data", "");
           },
           "spec.containers[0].volumeMounts[0].mountPath: Required value"},
          {"mount path twice",
           [](v1::Object& o) {
             AddVolume(o, "a").mutable_empty_dir();
             AddVolume(o, "b").mutable_empty_dir();
             AddMount(o, "a", "/data");
             AddMount(o, "b", "/data");
           },
           "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/data\": must be "
           "unique"},
      });
}

TEST(ValidatePodTest, Probes) {
  auto live = [](v1::Object& o) -> v1::Probe& {
    return *FirstContainer(o).mutable_liveness_probe();
  };
  RunCases(
      MakePod,
      {
          {"http by port name",
           [&](v1::Object& o) {
             AddPort(o, 8080).set_name("http");
             *live(o).mutable_http_get()->mutable_port() = StringValue("http");
           },
           ""},
          {"tcp by number",
           [&](v1::Object& o) { *live(o).mutable_tcp_socket()->mutable_port() = IntValue(5432); },
           ""},
          {"exec readiness with success threshold 3",
           [](v1::Object& o) {
             v1::Probe& p = *FirstContainer(o).mutable_readiness_probe();
             p.mutable_exec()->add_command("true");
             p.set_success_threshold(3);
           },
           ""},
          {"no handler", [&](v1::Object& o) { live(o).set_period_seconds(5); },
           "spec.containers[0].livenessProbe: Required value: must specify a handler type"},
          {"two handlers",
           [&](v1::Object& o) {
             live(o).mutable_exec()->add_command("true");
             *live(o).mutable_tcp_socket()->mutable_port() = IntValue(80);
           },
           "spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 "
           "handler type"},
          {"exec without command", [&](v1::Object& o) { live(o).mutable_exec(); },
           "spec.containers[0].livenessProbe.exec.command: Required value"},
          {"port missing", [&](v1::Object& o) { live(o).mutable_tcp_socket(); },
           "spec.containers[0].livenessProbe.tcpSocket.port: Required value"},
          {"port zero",
           [&](v1::Object& o) { *live(o).mutable_http_get()->mutable_port() = IntValue(0); },
           "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 "
           "and 65535, inclusive"},
          {"port bad name",
           [&](v1::Object& o) {
             *live(o).mutable_http_get()->mutable_port() = StringValue("HTTP");
           },
           "spec.containers[0].livenessProbe.httpGet.port: Invalid value: \"HTTP\": must contain "
           "only alpha-numeric characters (a-z, 0-9), and hyphens (-)"},
          {"bad scheme",
           [&](v1::Object& o) {
             *live(o).mutable_http_get()->mutable_port() = IntValue(80);
             live(o).mutable_http_get()->set_scheme("FTP");
           },
           "spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: \"FTP\": "
           "supported values: \"HTTP\", \"HTTPS\""},
          {"liveness success threshold",
           [&](v1::Object& o) {
             live(o).mutable_exec()->add_command("true");
             live(o).set_success_threshold(2);
           },
           "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"},
          {"startup success threshold",
           [](v1::Object& o) {
             v1::Probe& p = *FirstContainer(o).mutable_startup_probe();
             p.mutable_exec()->add_command("true");
             p.set_success_threshold(2);
           },
           "spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1"},
          {"negative failure threshold",
           [&](v1::Object& o) {
             live(o).mutable_exec()->add_command("true");
             live(o).set_failure_threshold(-1);
           },
           "spec.containers[0].livenessProbe.failureThreshold: Invalid value: -1: must be greater "
           "than or equal to 1"},
          {"negative initial delay",
           [&](v1::Object& o) {
             live(o).mutable_exec()->add_command("true");
             live(o).set_initial_delay_seconds(-5);
           },
           "spec.containers[0].livenessProbe.initialDelaySeconds: Invalid value: -5: must be "
           "greater than or equal to 0"},
      });
}

TEST(ValidatePodTest, SecurityContext) {
  auto sc = [](v1::Object& o) -> v1::SecurityContext& {
    return *FirstContainer(o).mutable_security_context();
  };
  RunCases(MakePod,
           {
               {"hardened",
                [&](v1::Object& o) {
                  sc(o).set_run_as_user(1000);
                  sc(o).set_run_as_non_root(true);
                  sc(o).set_allow_privilege_escalation(false);
                  sc(o).mutable_seccomp_profile()->set_type("RuntimeDefault");
                  sc(o).mutable_capabilities()->add_drop("ALL");
                  sc(o).mutable_capabilities()->add_add("NET_BIND_SERVICE");
                  sc(o).mutable_capabilities()->add_add("cap_chown");
                },
                ""},
               {"seccomp localhost",
                [&](v1::Object& o) { sc(o).mutable_seccomp_profile()->set_type("Localhost"); },
                "spec.containers[0].securityContext.seccompProfile.type: Unsupported value: "
                "\"Localhost\": supported values: \"RuntimeDefault\", \"Unconfined\""},
               {"seccomp type missing", [&](v1::Object& o) { sc(o).mutable_seccomp_profile(); },
                "spec.containers[0].securityContext.seccompProfile.type: Required value"},
               {"unknown capability",
                [&](v1::Object& o) { sc(o).mutable_capabilities()->add_add("NET_MAGIC"); },
                "spec.containers[0].securityContext.capabilities.add[0]: Invalid value: "
                "\"NET_MAGIC\": must be a Linux capability name (e.g. NET_ADMIN or CAP_NET_ADMIN)"},
               {"add ALL", [&](v1::Object& o) { sc(o).mutable_capabilities()->add_add("ALL"); },
                "spec.containers[0].securityContext.capabilities.add[0]: Invalid value: \"ALL\": "
                "may only be used in `drop`"},
               {"negative uid", [&](v1::Object& o) { sc(o).set_run_as_user(-1); },
                "spec.containers[0].securityContext.runAsUser: Invalid value: -1: must be between "
                "0 and 2147483647, inclusive"},
               {"privileged without escalation",
                [&](v1::Object& o) {
                  sc(o).set_privileged(true);
                  sc(o).set_allow_privilege_escalation(false);
                },
                "spec.containers[0].securityContext: Invalid value: cannot set "
                "`allowPrivilegeEscalation` to false and `privileged` to true"},
               {"SYS_ADMIN without escalation",
                [&](v1::Object& o) {
                  sc(o).mutable_capabilities()->add_add("CAP_SYS_ADMIN");
                  sc(o).set_allow_privilege_escalation(false);
                },
                "spec.containers[0].securityContext: Invalid value: cannot set "
                "`allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"},
           });
}

TEST(ValidatePodTest, SpecFields) {
  RunCases(
      MakePod,
      {
          {"OnFailure", [](v1::Object& o) { PodSpecOf(o).set_restart_policy("OnFailure"); }, ""},
          {"restart policy", [](v1::Object& o) { PodSpecOf(o).set_restart_policy("Sometimes"); },
           "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: "
           "\"Always\", \"OnFailure\", \"Never\""},
          {"grace period",
           [](v1::Object& o) { PodSpecOf(o).set_termination_grace_period_seconds(-1); },
           "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or "
           "equal to 0"},
          {"active deadline", [](v1::Object& o) { PodSpecOf(o).set_active_deadline_seconds(0); },
           "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, "
           "inclusive"},
          {"node selector",
           [](v1::Object& o) { (*PodSpecOf(o).mutable_node_selector())["disk"] = "ssd!"; },
           "spec.nodeSelector: Invalid value: \"ssd!\": at most 63 characters "
           "[A-Za-z0-9-_.], starting and ending alphanumeric, or empty"},
          {"node name", [](v1::Object& o) { PodSpecOf(o).set_node_name("Node_1"); },
           "spec.nodeName: Invalid value: \"Node_1\": must be a DNS-1123 subdomain"},
          {"scheduler name", [](v1::Object& o) { PodSpecOf(o).set_scheduler_name("My Scheduler"); },
           "spec.schedulerName: Invalid value: \"My Scheduler\": must be a DNS-1123 "
           "subdomain"},
          {"hostname", [](v1::Object& o) { PodSpecOf(o).set_hostname("web.local"); },
           "spec.hostname: Invalid value: \"web.local\": must be a DNS-1123 label"},
          {"preemption policy", [](v1::Object& o) { PodSpecOf(o).set_preemption_policy("Always"); },
           "spec.preemptionPolicy: Unsupported value: \"Always\": supported values: "
           "\"PreemptLowerPriority\", \"Never\""},
      });
}

v1::Toleration& AddToleration(v1::Object& o, const std::string& key, const std::string& op) {
  v1::Toleration* t = PodSpecOf(o).add_tolerations();
  t->set_key(key);
  t->set_operator_(op);
  return *t;
}

TEST(ValidatePodTest, Tolerations) {
  RunCases(
      MakePod,
      {
          {"equal with value",
           [](v1::Object& o) {
             v1::Toleration& t = AddToleration(o, "dedicated", "");
             t.set_value("gpu");
             t.set_effect("NoSchedule");
           },
           ""},
          {"exists everything", [](v1::Object& o) { AddToleration(o, "", "Exists"); }, ""},
          {"no execute with seconds",
           [](v1::Object& o) {
             v1::Toleration& t = AddToleration(o, "node.kubernetes.io/unreachable", "Exists");
             t.set_effect("NoExecute");
             t.set_toleration_seconds(300);
           },
           ""},
          {"exists with value",
           [](v1::Object& o) { AddToleration(o, "dedicated", "Exists").set_value("gpu"); },
           "spec.tolerations[0].operator: Invalid value: \"gpu\": value must be empty when "
           "`operator` is 'Exists'"},
          {"bad operator", [](v1::Object& o) { AddToleration(o, "dedicated", "In"); },
           "spec.tolerations[0].operator: Unsupported value: \"In\": supported values: "
           "\"Equal\", \"Exists\""},
          {"empty key with Equal", [](v1::Object& o) { AddToleration(o, "", "Equal"); },
           "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists "
           "when `key` is empty, which means \"match all values and all keys\""},
          {"bad effect", [](v1::Object& o) { AddToleration(o, "k", "Exists").set_effect("NoRun"); },
           "spec.tolerations[0].effect: Unsupported value: \"NoRun\": supported values: "
           "\"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""},
          {"seconds without NoExecute",
           [](v1::Object& o) {
             v1::Toleration& t = AddToleration(o, "k", "Exists");
             t.set_effect("NoSchedule");
             t.set_toleration_seconds(10);
           },
           "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be "
           "'NoExecute' when `tolerationSeconds` is set"},
      });
}

v1::NodeSelectorRequirement& AddNodeRequirement(v1::Object& o, const std::string& op,
                                                const std::vector<std::string>& values) {
  auto* terms = PodSpecOf(o)
                    .mutable_affinity()
                    ->mutable_node_affinity()
                    ->mutable_required_during_scheduling_ignored_during_execution();
  if (terms->node_selector_terms().empty()) terms->add_node_selector_terms();
  v1::NodeSelectorRequirement* r = terms->mutable_node_selector_terms(0)->add_match_expressions();
  r->set_key("node.kubernetes.io/instance-type");
  r->set_operator_(op);
  for (const std::string& v : values) r->add_values(v);
  return *r;
}

v1::PodAffinityTerm& AddAntiAffinity(v1::Object& o, const std::string& topology) {
  v1::PodAffinityTerm* t = PodSpecOf(o)
                               .mutable_affinity()
                               ->mutable_pod_anti_affinity()
                               ->add_required_during_scheduling_ignored_during_execution();
  (*t->mutable_label_selector()->mutable_match_labels())["app"] = "web";
  t->set_topology_key(topology);
  return *t;
}

TEST(ValidatePodTest, Affinity) {
  const std::string node_path =
      "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
      "nodeSelectorTerms";
  const std::string expr = node_path + "[0].matchExpressions[0]";
  const std::string anti =
      "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]";
  RunCases(MakePod,
           {
               {"node In", [](v1::Object& o) { AddNodeRequirement(o, "In", {"large"}); }, ""},
               {"node Gt", [](v1::Object& o) { AddNodeRequirement(o, "Gt", {"4"}); }, ""},
               {"anti affinity by host",
                [](v1::Object& o) { AddAntiAffinity(o, "kubernetes.io/hostname"); }, ""},
               {"no terms",
                [](v1::Object& o) {
                  PodSpecOf(o)
                      .mutable_affinity()
                      ->mutable_node_affinity()
                      ->mutable_required_during_scheduling_ignored_during_execution();
                },
                node_path + ": Required value: must have at least one node selector term"},
               {"In without values", [](v1::Object& o) { AddNodeRequirement(o, "In", {}); },
                expr + ".values: Required value: must be specified when `operator` is 'In' or "
                       "'NotIn'"},
               {"Exists with values", [](v1::Object& o) { AddNodeRequirement(o, "Exists", {"x"}); },
                expr + ".values: Forbidden: may not be specified when `operator` is 'Exists' or "
                       "'DoesNotExist'"},
               {"Gt with two values",
                [](v1::Object& o) {
                  AddNodeRequirement(o, "Gt", {"1", "2"});
                },
                expr + ".values: Required value: must be specified single value when `operator` "
                       "is 'Lt' or 'Gt'"},
               {"Lt not an integer", [](v1::Object& o) { AddNodeRequirement(o, "Lt", {"big"}); },
                expr + ".values[0]: Invalid value: \"big\": must be an integer"},
               {"bad operator", [](v1::Object& o) { AddNodeRequirement(o, "Near", {"x"}); },
                expr + ".operator: Invalid value: \"Near\": not a valid selector operator"},
               {"anti affinity without topology", [](v1::Object& o) { AddAntiAffinity(o, ""); },
                anti + ".topologyKey: Required value: can not be empty"},
               {"anti affinity bad selector",
                [](v1::Object& o) {
                  auto* r = AddAntiAffinity(o, "kubernetes.io/hostname")
                                .mutable_label_selector()
                                ->add_match_expressions();
                  r->set_key("tier");
                  r->set_operator_("Is");
                },
                anti + ".labelSelector.matchExpressions[0].operator: Invalid value: \"Is\": not a "
                       "valid selector operator"},
           });
}

TEST(ValidatePodTest, UndefaultedPodReportsRequiredDefaults) {
  // Validate without ApplyDefaults: the fields the defaults fill are required.
  v1::Object o = Pod();
  o.mutable_pod()->mutable_metadata()->set_namespace_("default");
  EXPECT_THAT(Render(Validate(o)), ElementsAre("spec.containers[0].imagePullPolicy: Required value",
                                               "spec.restartPolicy: Required value"));
}

}  // namespace
}  // namespace berth::control
