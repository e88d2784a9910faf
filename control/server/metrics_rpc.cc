// ReportUsage and GetMetrics: nodes report their usage, `berth top` reads
// it. Reports are authorized as creating the node's NodeMetrics (a node
// reports only for itself) and are not audited: every node sends one per
// window, and they change no stored object. Reads are authorized as
// listing NodeMetrics or PodMetrics.
#include "service_scope.h"

#include "berth/api/kinds.h"

namespace berth::control {
namespace {

using api::ToGrpcStatus;

grpc::Status NotFound(const std::string& what) {
  return ToGrpcStatus(Error::Sys(ENOENT, what + " not found"));
}

}  // namespace

grpc::Status ControlService::ReportUsage(grpc::ServerContext* ctx, const v1::UsageReport* req,
                                         v1::UsageReportResponse* /*resp*/) {
  const std::string& node = req->node().name();
  Scope scope(*this, ctx, Attributes{"create", "NodeMetrics", "", node, false, "", nullptr});
  if (!scope.allowed()) return scope.status();
  if (node.empty()) return ToGrpcStatus(Error::Invalid("node.name: Required value"));
  if (req->node().window_ms() <= 0) {
    return ToGrpcStatus(
        Error::Invalid("node.windowMs: Invalid value: " + std::to_string(req->node().window_ms()) +
                       ": must be greater than 0"));
  }
  metrics_.Report(node, *req, MetricsStore::Clock::now());
  return grpc::Status::OK;
}

grpc::Status ControlService::GetMetrics(grpc::ServerContext* ctx, const v1::MetricsRequest* req,
                                        v1::MetricsResponse* resp) {
  const api::KindInfo* info = api::FindKind(req->kind());
  const std::string kind = info == nullptr ? req->kind() : std::string(info->kind);
  if (kind != "Node" && kind != "Pod") {
    return ToGrpcStatus(Error::Invalid("kind: Unsupported value: \"" + req->kind() +
                                       "\": supported values: \"Node\", \"Pod\""));
  }
  const bool pods = kind == "Pod";
  const std::string ns = !pods || req->all_namespaces()
                             ? ""
                             : (req->namespace_().empty() ? "default" : req->namespace_());
  Scope scope(
      *this, ctx,
      Attributes{"list", pods ? "PodMetrics" : "NodeMetrics", ns, req->name(), false, "", nullptr});
  if (!scope.allowed()) return scope.status();

  std::vector<v1::Object> objects;
  if (!req->name().empty()) {
    auto got = registry_.Get({kind, ns, req->name()});
    if (!got.ok()) return ToGrpcStatus(got.error());
    objects.push_back(std::move(*got));
  } else {
    auto list = registry_.List({.kind = kind,
                                .namespace_ = ns,
                                .all_namespaces = req->all_namespaces(),
                                .label_selector = req->label_selector()});
    if (!list.ok()) return ToGrpcStatus(list.error());
    objects = std::move(list->items);
  }

  const auto now = MetricsStore::Clock::now();
  for (const auto& o : objects) {
    if (!pods) {
      if (auto m = metrics_.Node(o.node().metadata().name(), now)) *resp->add_nodes() = *m;
      continue;
    }
    const v1::Pod& pod = o.pod();
    if (pod.spec().node_name().empty()) continue;
    auto m = metrics_.Pod(pod.spec().node_name(), pod.metadata().uid(), now);
    if (!m) continue;
    // Names as the store has them, not as the node wrote them.
    m->set_namespace_(pod.metadata().namespace_());
    m->set_name(pod.metadata().name());
    *resp->add_pods() = std::move(*m);
  }
  if (!req->name().empty() && resp->nodes_size() + resp->pods_size() == 0) {
    return NotFound(pods ? "podmetrics.metrics.k8s.io \"" + ns + "/" + req->name() + "\""
                         : "nodemetrics.metrics.k8s.io \"" + req->name() + "\"");
  }
  return grpc::Status::OK;
}

}  // namespace berth::control
