#include "berth/control/controllers/resource_quota.h"

#include <cerrno>
#include <map>
#include <set>

#include "berth/api/kinds.h"
#include "berth/control/controllers/quota_admission.h"

namespace berth::control {
namespace {

using ProtoMap = google::protobuf::Map<std::string, std::string>;

bool SameMap(const ProtoMap& a, const std::map<std::string, std::string>& b) {
  return std::map<std::string, std::string>(a.begin(), a.end()) == b;
}

}  // namespace

ResourceQuotaController::ResourceQuotaController(Registry& registry, Informer& quotas,
                                                 std::vector<Informer*> counted,
                                                 ResourceQuotaOptions options)
    : registry_(registry),
      quotas_(quotas),
      counted_(std::move(counted)),
      options_(options),
      runner_("resourcequota", queue_, [this](const std::string& key) { return Sync(key); }) {
  quotas_.AddHandler(
      [this](const ObjectEvent& e, const v1::Object*) { queue_.Add(KeyOf(e.object)); });
  for (Informer* informer : counted_) {
    informer->AddHandler([this](const ObjectEvent& e, const v1::Object*) {
      EnqueueNamespace(api::MetaOf(e.object).namespace_());
    });
  }
}

ResourceQuotaController::~ResourceQuotaController() { Stop(); }

Status ResourceQuotaController::Start() {
  BERTH_TRY(WaitForInformers({&quotas_}, "resourcequota controller"));
  resync_.Start(options_.resync, [this] {
    for (const auto& quota : quotas_.List()) queue_.Add(KeyOf(quota));
  });
  return runner_.Start(options_.workers);
}

void ResourceQuotaController::Stop() {
  resync_.Stop();
  queue_.ShutDown();
  runner_.Stop();
}

void ResourceQuotaController::EnqueueNamespace(const std::string& ns) {
  for (const auto& quota : quotas_.List(ns)) queue_.Add(KeyOf(quota));
}

Status ResourceQuotaController::Sync(const std::string& key) {
  const auto [ns, name] = SplitKey(key);
  const std::optional<v1::Object> object = quotas_.Get(ns, name);
  if (!object) return {};
  const v1::ResourceQuota& quota = object->resource_quota();
  std::set<std::string> keys;
  for (const auto& [resource, hard] : quota.spec().hard()) keys.insert(resource);
  auto used = MeasureQuotaUsage(registry_, ns, keys);
  if (!used.ok()) return std::move(used).error().Wrap("resourcequota " + key);
  const std::map<std::string, std::string> hard(quota.spec().hard().begin(),
                                                quota.spec().hard().end());
  std::map<std::string, std::string> used_text;
  for (const auto& [resource, value] : *used) used_text[resource] = FormatResource(resource, value);
  auto updated = registry_.Modify(
      {"ResourceQuota", ns, name},
      [&](v1::Object& o) {
        v1::ResourceQuotaStatus& status = *o.mutable_resource_quota()->mutable_status();
        if (SameMap(status.hard(), hard) && SameMap(status.used(), used_text)) return false;
        status.mutable_hard()->clear();
        status.mutable_hard()->insert(hard.begin(), hard.end());
        status.mutable_used()->clear();
        status.mutable_used()->insert(used_text.begin(), used_text.end());
        return true;
      },
      {.status = true});
  if (!updated.ok() && updated.error().err() != ENOENT) {
    return std::move(updated).error().Wrap("resourcequota " + key + ": update status");
  }
  return {};
}

}  // namespace berth::control
