#include "berth/control/control_service.h"

#include <cerrno>
#include <charconv>

#include "service_scope.h"
#include "watch_pump.h"

#include "berth/api/grpc_status.h"
#include "berth/api/kinds.h"

namespace berth::control {

using pki::IssueOptions;
using pki::SignCsr;
using pki::Subject;
namespace {

using api::ToGrpcStatus;

grpc::Status Invalid(const std::string& what) { return ToGrpcStatus(Error::Invalid(what)); }

// resourceVersion strings are decimal revisions; "" and "0" mean "now".
Result<int64_t> ParseRevision(const std::string& text) {
  if (text.empty()) return int64_t{0};
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return Error::Invalid("resourceVersion: Invalid value: \"" + text + "\": not a revision");
  }
  return value;
}

ObjectKey KeyOf(const v1::ObjectKey& key) { return {key.kind(), key.namespace_(), key.name()}; }

// A watch refused before it started: the stream ends with the reason.
class RefusedWatch final : public grpc::ServerWriteReactor<v1::WatchEvent> {
 public:
  explicit RefusedWatch(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// Pump threads turn ready watches into writes; the work per event is a
// copy into the outgoing message, so two are plenty.
constexpr int kWatchPumpThreads = 2;

}  // namespace

ControlService::ControlService(Registry& registry, ControlServiceOptions options)
    : registry_(registry),
      options_(options),
      watches_(std::make_unique<WatchPump>(kWatchPumpThreads)) {}

ControlService::~ControlService() = default;

void ControlService::Shutdown() { watches_->Stop(); }

size_t ControlService::OpenWatches() const { return watches_->Streams(); }

namespace {

// The namespace an object of `kind` lives in ("" for cluster-scoped).
std::string NamespaceFor(std::string_view kind, const std::string& ns) {
  const api::KindInfo* info = api::FindKind(kind);
  if (info == nullptr || !info->namespaced) return "";
  return ns.empty() ? "default" : ns;
}

std::string KindName(std::string_view kind) {
  const api::KindInfo* info = api::FindKind(kind);
  return info == nullptr ? std::string(kind) : std::string(info->kind);
}

Attributes ForObject(std::string verb, const v1::Object& object) {
  const api::KindInfo* kind = api::KindOf(object);
  const std::string kind_name = kind == nullptr ? "" : std::string(kind->kind);
  const auto& meta = kind == nullptr ? v1::ObjectMeta::default_instance() : api::MetaOf(object);
  return Attributes{std::move(verb), kind_name, NamespaceFor(kind_name, meta.namespace_()),
                    meta.name(),     false,     "",
                    &object};
}

Attributes ForKey(std::string verb, const v1::ObjectKey& key) {
  return Attributes{std::move(verb),
                    KindName(key.kind()),
                    NamespaceFor(key.kind(), key.namespace_()),
                    key.name(),
                    false,
                    "",
                    nullptr};
}

}  // namespace

grpc::Status ControlService::Create(grpc::ServerContext* ctx, const v1::CreateRequest* req,
                                    v1::Object* resp) {
  Scope scope(*this, ctx, ForObject("create", req->object()));
  if (!scope.allowed()) return scope.status();
  auto created = registry_.Create(req->object(), req->dry_run());
  if (!created.ok()) return scope.Finish(ToGrpcStatus(created.error()));
  *resp = std::move(*created);
  return scope.Finish(grpc::Status::OK);
}

grpc::Status ControlService::Get(grpc::ServerContext* ctx, const v1::GetRequest* req,
                                 v1::Object* resp) {
  Scope scope(*this, ctx, ForKey("get", req->key()));
  if (!scope.allowed()) return scope.status();
  auto got = registry_.Get(KeyOf(req->key()));
  if (!got.ok()) return ToGrpcStatus(got.error());
  *resp = std::move(*got);
  return grpc::Status::OK;
}

grpc::Status ControlService::List(grpc::ServerContext* ctx, const v1::ListRequest* req,
                                  v1::ListResponse* resp) {
  Scope scope(*this, ctx,
              Attributes{"list", KindName(req->kind()),
                         req->all_namespaces() ? "" : NamespaceFor(req->kind(), req->namespace_()),
                         "", false, req->field_selector(), nullptr});
  if (!scope.allowed()) return scope.status();
  auto list = registry_.List({.kind = req->kind(),
                              .namespace_ = req->namespace_(),
                              .all_namespaces = req->all_namespaces(),
                              .label_selector = req->label_selector(),
                              .field_selector = req->field_selector(),
                              .limit = req->limit(),
                              .continue_token = req->continue_()});
  if (!list.ok()) return ToGrpcStatus(list.error());
  for (auto& item : list->items) *resp->add_items() = std::move(item);
  resp->set_resource_version(std::to_string(list->revision));
  resp->set_continue_(list->continue_token);
  resp->set_remaining_item_count(list->remaining);
  return grpc::Status::OK;
}

grpc::Status ControlService::Update(grpc::ServerContext* ctx, const v1::UpdateRequest* req,
                                    v1::Object* resp) {
  Attributes attributes = ForObject("update", req->object());
  attributes.status = req->status();
  Scope scope(*this, ctx, std::move(attributes));
  if (!scope.allowed()) return scope.status();
  auto updated =
      registry_.Update(req->object(), {.status = req->status(), .dry_run = req->dry_run()});
  if (!updated.ok()) return scope.Finish(ToGrpcStatus(updated.error()));
  *resp = std::move(*updated);
  return scope.Finish(grpc::Status::OK);
}

grpc::Status ControlService::Apply(grpc::ServerContext* ctx, const v1::ApplyRequest* req,
                                   v1::ApplyResponse* resp) {
  auto manifest = nlohmann::json::parse(req->manifest(), nullptr, false);
  if (manifest.is_discarded()) return Invalid("manifest: not valid JSON");
  // Authorized as what it may do: create the object or update it.
  // Fields of the wrong type here are reported by the decoder; for the
  // authorization they read as empty.
  auto text = [](const nlohmann::json& object, const char* key, std::string fallback) {
    if (!object.is_object()) return fallback;
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
  };
  const std::string kind = text(manifest, "kind", "");
  const nlohmann::json meta = manifest.is_object() && manifest.contains("metadata")
                                  ? manifest["metadata"]
                                  : nlohmann::json();
  const std::string ns = text(meta, "namespace", req->namespace_());
  const std::string name = text(meta, "name", "");
  Attributes attributes{"create", KindName(kind), NamespaceFor(kind, ns), name, false, "", nullptr};
  Scope create_scope(*this, ctx, attributes);
  if (!create_scope.allowed()) return create_scope.status();
  attributes.verb = "update";
  Scope scope(*this, ctx, attributes);
  if (!scope.allowed()) return scope.status();
  auto applied = registry_.Apply(manifest, req->namespace_(), req->dry_run());
  if (!applied.ok()) return scope.Finish(ToGrpcStatus(applied.error()));
  *resp->mutable_object() = std::move(applied->object);
  resp->set_result(applied->result);
  return scope.Finish(grpc::Status::OK);
}

grpc::Status ControlService::Delete(grpc::ServerContext* ctx, const v1::DeleteRequest* req,
                                    v1::Object* resp) {
  Scope scope(*this, ctx, ForKey("delete", req->key()));
  if (!scope.allowed()) return scope.status();
  DeleteOptions options;
  if (req->has_grace_period_seconds()) options.grace_period_seconds = req->grace_period_seconds();
  if (!req->propagation_policy().empty()) options.propagation = req->propagation_policy();
  options.precondition_uid = req->precondition_uid();
  options.dry_run = req->dry_run();
  auto deleted = registry_.Delete(KeyOf(req->key()), options);
  if (!deleted.ok()) return scope.Finish(ToGrpcStatus(deleted.error()));
  *resp = std::move(*deleted);
  return scope.Finish(grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::WatchEvent>* ControlService::Watch(grpc::CallbackServerContext* ctx,
                                                                const v1::WatchRequest* req) {
  Scope scope(*this, ctx,
              Attributes{"watch", KindName(req->kind()),
                         req->all_namespaces() ? "" : NamespaceFor(req->kind(), req->namespace_()),
                         "", false, req->field_selector(), nullptr});
  if (!scope.allowed()) return new RefusedWatch(scope.status());
  auto after = ParseRevision(req->resource_version());
  if (!after.ok()) return new RefusedWatch(ToGrpcStatus(after.error()));
  auto watch = registry_.Watch({.kind = req->kind(),
                                .namespace_ = req->namespace_(),
                                .all_namespaces = req->all_namespaces(),
                                .label_selector = req->label_selector(),
                                .field_selector = req->field_selector(),
                                .after_revision = *after});
  if (!watch.ok()) return new RefusedWatch(ToGrpcStatus(watch.error()));
  return watches_->Serve(std::move(*watch), std::chrono::seconds(req->bookmark_seconds()));
}

}  // namespace berth::control

namespace berth::control {

grpc::Status ControlService::Join(grpc::ServerContext* ctx, const v1::JoinRequest* req,
                                  v1::JoinResponse* resp) {
  Scope scope(*this, ctx, Attributes{"join", "Node", "", req->node_name(), false, "", nullptr});
  if (!scope.allowed()) return scope.status();
  if (options_.ca == nullptr) {
    return scope.Finish(ToGrpcStatus(Error::Sys(ENOSYS, "join: this control service has no CA")));
  }
  // A node name is a DNS subdomain (it becomes the Node's name and the
  // certificate's CN).
  const std::string& name = req->node_name();
  bool valid = !name.empty() && name.size() <= 253;
  for (char c : name) {
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
  }
  if (!valid || name.front() == '-' || name.back() == '-') {
    return scope.Finish(
        Invalid("nodeName: Invalid value: \"" + name + "\": must be a lowercase DNS subdomain"));
  }
  IssueOptions options;
  options.client = true;
  options.subject = Subject{std::string(kNodeUserPrefix) + name, {std::string(kNodesGroup)}};
  auto cert = SignCsr(*options_.ca, req->csr_pem(), options);
  if (!cert.ok()) return scope.Finish(ToGrpcStatus(std::move(cert).error().Wrap("join " + name)));
  resp->set_certificate_pem(std::move(*cert));
  resp->set_ca_pem(options_.ca->cert_pem);
  return scope.Finish(grpc::Status::OK);
}

}  // namespace berth::control
