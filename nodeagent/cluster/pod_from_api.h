// The control plane's pod (berth.v1.Pod, as NodeSession follows it) as the
// agent's PodManifest: the same model, defaults and checks ParsePodManifest
// applies to a manifest file, so a pod runs alike whether it came from
// berth-control or from the node's manifest directory.
//
// Read: metadata name, namespace ("" = "default"), uid, labels, annotations
// and deletionGracePeriodSeconds (the grace of a pending deletion: when set
// it replaces spec.terminationGracePeriodSeconds); spec restartPolicy ("" =
// Always), terminationGracePeriodSeconds (unset = 30), shareProcessNamespace,
// volumes, initContainers and containers with the fields manifest.h lists.
// Proto3 cannot tell an unset number from 0: a probe's timeoutSeconds,
// periodSeconds, successThreshold and failureThreshold of 0 take Kubernetes'
// defaults (1, 10, 1, 3) as the control plane's defaulting does, and a port
// protocol "" is TCP. PodManifest::config_dir is left empty for the caller.
//
// Ignored, as they are settled before the pod reaches the node or ask
// nothing of the agent: metadata bookkeeping (generateName, resourceVersion,
// generation, timestamps, ownerReferences, finalizers), status, source,
// apiVersion, kind; spec nodeName, nodeSelector, affinity, tolerations,
// priority, priorityClassName, schedulerName, preemptionPolicy, hostname
// (the pod's UTS name is its name), activeDeadlineSeconds (the Job
// controller enforces it); container imagePullPolicy, terminationMessagePath,
// ports[].hostIP when hostPort is 0, securityContext.runAsNonRoot (beyond
// the check below); hostPath.type; httpGet.scheme "HTTP".
//
// Rejected, because the agent would run the pod without honouring them
// ("<path>: not supported by berth-agent"): ports[].hostPort other than 0;
// httpGet.host, httpGet.scheme other than HTTP (HTTPS), tcpSocket.host;
// resources other than cpu and memory (ephemeral-storage, hugepages-*,
// extended resources: the agent enforces cpu and memory only, and the
// control plane accepts no others); configMap.optional / secret.optional
// true on a volume (the agent fails a pod whose volume source is missing).
//
// Functions only; thread-safe. Errors: EINVAL, "<field path>: <what>" in
// manifest.cc's wording ("spec.containers[0].image: Required value"),
// wrapped in "pod <namespace>/<name>". Impossible values are errors as in a
// manifest file: missing name, uid, image or containers, names that are not
// DNS-1123, duplicates, ports out of range, unknown restartPolicy, protocol,
// seccompProfile.type or emptyDir.medium, bad quantities, requests above
// limits, probes without exactly one handler or naming no container port,
// mounts of unknown volumes, relative or repeated mount paths, negative
// numbers, runAsNonRoot with runAsUser 0.
#pragma once

#include "manifest.h"
#include "objects.pb.h"

#include "berth/common/error.h"

namespace berth::nodeagent {

Result<PodManifest> PodManifestFromApi(const v1::Pod& pod);

}  // namespace berth::nodeagent
