// Registry::Apply: kubectl's client-side apply done on the server. The
// manifest as the user wrote it is kept in the last-applied-configuration
// annotation; the next apply removes what the user dropped since, sets
// what they set, and keeps what others (controllers, defaults, status)
// wrote. See berth/control/apply_merge.h.
#include <cerrno>

#include "registry_internal.h"

#include "berth/api/codec.h"
#include "berth/api/kinds.h"
#include "berth/control/apply_merge.h"
#include "berth/control/registry.h"

namespace berth::control {

namespace {
constexpr int kApplyRetries = 8;
}  // namespace

Result<ApplyResult> Registry::Apply(const nlohmann::json& manifest,
                                    const std::string& default_namespace, bool dry_run) {
  auto decoded = api::DecodeObject(manifest, "manifest");
  if (!decoded.ok()) return decoded.error();
  const api::KindInfo* kind = api::KindOf(*decoded);
  const auto& meta = api::MetaOf(*decoded);
  if (meta.name().empty()) return Error::Invalid("manifest: metadata.name: Required value");
  std::string ns = meta.namespace_();
  if (kind->namespaced && ns.empty())
    ns = default_namespace.empty() ? "default" : default_namespace;
  const std::string last_applied = manifest.dump();

  for (int attempt = 0;; ++attempt) {
    auto live = Get({std::string(kind->kind), ns, meta.name()});
    if (!live.ok() && live.error().err() != ENOENT) return live.error();
    if (!live.ok()) {
      v1::Object object = *decoded;
      v1::ObjectMeta* m = api::MutableMeta(object);
      if (kind->namespaced) m->set_namespace_(ns);
      (*m->mutable_annotations())[std::string(detail::kLastApplied)] = last_applied;
      auto created = Create(std::move(object), dry_run);
      if (created.ok()) return ApplyResult{std::move(*created), "created"};
      if (created.error().err() != EEXIST || attempt + 1 >= kApplyRetries) return created.error();
      continue;  // created meanwhile: apply onto it
    }
    const auto& annotations = api::MetaOf(*live).annotations();
    nlohmann::json previous = nlohmann::json::object();
    if (auto it = annotations.find(std::string(detail::kLastApplied)); it != annotations.end()) {
      previous = nlohmann::json::parse(it->second, nullptr, false);
      if (previous.is_discarded()) previous = nlohmann::json::object();
    }
    nlohmann::json merged = ApplyThreeWay(api::ToJson(*live), previous, manifest);
    merged["metadata"]["annotations"][std::string(detail::kLastApplied)] = last_applied;
    auto object = api::DecodeObject(merged, "manifest");
    if (!object.ok()) return object.error();
    if (detail::SameObject(*object, *live)) return ApplyResult{std::move(*live), "unchanged"};
    auto updated = Update(std::move(*object), {.status = false, .dry_run = dry_run});
    if (updated.ok()) {
      // Defaults may make a changed manifest an unchanged object.
      const bool same =
          api::MetaOf(*updated).resource_version() == api::MetaOf(*live).resource_version();
      return ApplyResult{std::move(*updated), same ? "unchanged" : "configured"};
    }
    if (updated.error().err() != ESTALE || attempt + 1 >= kApplyRetries) return updated.error();
  }
}

}  // namespace berth::control
