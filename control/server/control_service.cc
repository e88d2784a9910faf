#include "berth/control/control_service.h"

#include <cerrno>
#include <charconv>

#include "berth/api/grpc_status.h"
#include "berth/api/kinds.h"

namespace berth::control {
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

const char* EventType(ObjectEvent::Type type) {
  switch (type) {
    case ObjectEvent::Type::kAdded:
      return "ADDED";
    case ObjectEvent::Type::kModified:
      return "MODIFIED";
    case ObjectEvent::Type::kDeleted:
      return "DELETED";
  }
  return "MODIFIED";
}

}  // namespace

grpc::Status ControlService::Create(grpc::ServerContext*, const v1::CreateRequest* req,
                                    v1::Object* resp) {
  auto created = registry_.Create(req->object(), req->dry_run());
  if (!created.ok()) return ToGrpcStatus(created.error());
  *resp = std::move(*created);
  return grpc::Status::OK;
}

grpc::Status ControlService::Get(grpc::ServerContext*, const v1::GetRequest* req,
                                 v1::Object* resp) {
  auto got = registry_.Get(KeyOf(req->key()));
  if (!got.ok()) return ToGrpcStatus(got.error());
  *resp = std::move(*got);
  return grpc::Status::OK;
}

grpc::Status ControlService::List(grpc::ServerContext*, const v1::ListRequest* req,
                                  v1::ListResponse* resp) {
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

grpc::Status ControlService::Update(grpc::ServerContext*, const v1::UpdateRequest* req,
                                    v1::Object* resp) {
  auto updated =
      registry_.Update(req->object(), {.status = req->status(), .dry_run = req->dry_run()});
  if (!updated.ok()) return ToGrpcStatus(updated.error());
  *resp = std::move(*updated);
  return grpc::Status::OK;
}

grpc::Status ControlService::Apply(grpc::ServerContext*, const v1::ApplyRequest* req,
                                   v1::ApplyResponse* resp) {
  auto manifest = nlohmann::json::parse(req->manifest(), nullptr, false);
  if (manifest.is_discarded()) return Invalid("manifest: not valid JSON");
  auto applied = registry_.Apply(manifest, req->namespace_(), req->dry_run());
  if (!applied.ok()) return ToGrpcStatus(applied.error());
  *resp->mutable_object() = std::move(applied->object);
  resp->set_result(applied->result);
  return grpc::Status::OK;
}

grpc::Status ControlService::Delete(grpc::ServerContext*, const v1::DeleteRequest* req,
                                    v1::Object* resp) {
  DeleteOptions options;
  if (req->has_grace_period_seconds()) options.grace_period_seconds = req->grace_period_seconds();
  if (!req->propagation_policy().empty()) options.propagation = req->propagation_policy();
  options.precondition_uid = req->precondition_uid();
  options.dry_run = req->dry_run();
  auto deleted = registry_.Delete(KeyOf(req->key()), options);
  if (!deleted.ok()) return ToGrpcStatus(deleted.error());
  *resp = std::move(*deleted);
  return grpc::Status::OK;
}

grpc::Status ControlService::Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                                   grpc::ServerWriter<v1::WatchEvent>* writer) {
  auto after = ParseRevision(req->resource_version());
  if (!after.ok()) return ToGrpcStatus(after.error());
  auto watch = registry_.Watch({.kind = req->kind(),
                                .namespace_ = req->namespace_(),
                                .all_namespaces = req->all_namespaces(),
                                .label_selector = req->label_selector(),
                                .field_selector = req->field_selector(),
                                .after_revision = *after});
  if (!watch.ok()) return ToGrpcStatus(watch.error());
  const auto bookmark_every = std::chrono::seconds(req->bookmark_seconds());
  auto last_bookmark = std::chrono::steady_clock::now();
  constexpr auto kPoll = std::chrono::milliseconds(200);
  while (!ctx->IsCancelled() && !shutting_down_) {
    auto events = (*watch)->Next(kPoll);
    if (!events.ok()) {
      if (events.error().err() == ECANCELED) break;
      return ToGrpcStatus(events.error());
    }
    for (auto& e : *events) {
      v1::WatchEvent out;
      out.set_type(EventType(e.type));
      out.set_resource_version(std::to_string(e.revision));
      *out.mutable_object() = std::move(e.object);
      if (!writer->Write(out)) return grpc::Status::OK;  // the client went away
    }
    if (bookmark_every.count() > 0 &&
        std::chrono::steady_clock::now() - last_bookmark >= bookmark_every) {
      v1::WatchEvent bookmark;
      bookmark.set_type("BOOKMARK");
      bookmark.set_resource_version(std::to_string((*watch)->Revision()));
      if (!writer->Write(bookmark)) return grpc::Status::OK;
      last_bookmark = std::chrono::steady_clock::now();
    }
  }
  (*watch)->Cancel();
  return grpc::Status::OK;
}

}  // namespace berth::control
