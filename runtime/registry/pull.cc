#include "berth/runtime/registry/pull.h"

#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "berth/common/log.h"
#include "berth/runtime/image/gc.h"
#include "berth/runtime/image/snapshot.h"

namespace berth::runtime::registry {
namespace {

using image::Descriptor;
using image::Digest;
using image::ImageStore;

constexpr std::string_view kSchema1 = "application/vnd.docker.distribution.manifest.v1+prettyjws";

// The endpoints in the order to try them for content: the one that answered
// the manifest first, then the others as configured.
std::vector<Endpoint> ContentOrder(const std::vector<Endpoint>& all, size_t chosen) {
  std::vector<Endpoint> out{all[chosen]};
  for (size_t i = 0; i < all.size(); ++i) {
    if (i != chosen) out.push_back(all[i]);
  }
  return out;
}

// Checks a fetched document against the digest asked for and the one the
// registry announced; returns its descriptor.
Result<Descriptor> VerifyDocument(const FetchedManifest& m, const std::optional<Digest>& want,
                                  const std::string& what) {
  BERTH_ASSIGN_OR_RETURN(Digest actual, image::Sha256Of(m.body));
  if (want && !(*want == actual)) {
    return Error::Invalid(what + ": digest mismatch: asked for " + want->String() +
                          ", content hashes to " + actual.String());
  }
  if (!m.content_digest.empty()) {
    auto announced = image::ParseDigest(m.content_digest);
    if (!announced.ok() || !(*announced == actual)) {
      return Error::Invalid(what + ": digest mismatch: registry announced " + m.content_digest +
                            ", content hashes to " + actual.String());
    }
  }
  Descriptor d;
  d.digest = actual;
  d.size = static_cast<int64_t>(m.body.size());
  d.media_type = m.media_type;
  return d;
}

// The media type a document declares, when the Content-Type did not say.
std::string DeclaredMediaType(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto it = j.find("mediaType"); it != j.end() && it->is_string()) {
      return it->get<std::string>();
    }
    if (j.contains("manifests")) return std::string(image::media_type::kOciIndex);
    if (j.contains("layers")) return std::string(image::media_type::kOciManifest);
  }
  return "";
}

class Puller {
 public:
  Puller(const ImageStore& store, RegistryClient& client, const image::Reference& ref,
         const PullOptions& options)
      : store_(store), client_(client), ref_(ref), options_(options) {}

  Result<image::ImportedImage> Run(const std::vector<Endpoint>& endpoints) {
    // Blobs land before the reference names them: keep the collector away.
    BERTH_ASSIGN_OR_RETURN(image::StoreWriteGuard guard, image::StoreWriteGuard::Acquire(store_));
    BERTH_ASSIGN_OR_RETURN(FetchedManifest top, Resolve(endpoints));
    const std::string what = "manifest of " + ref_.String();
    BERTH_ASSIGN_OR_RETURN(Descriptor desc, VerifyDocument(top, ref_.digest, what));
    if (desc.media_type.empty() || desc.media_type == "text/plain" ||
        desc.media_type == "application/json") {
      desc.media_type = DeclaredMediaType(top.body);
    }
    if (desc.media_type == kSchema1) {
      return Error::Invalid(what + ": Docker schema 1 manifests are not supported");
    }
    FetchedManifest manifest_doc = std::move(top);
    if (image::IsIndexType(desc.media_type)) {
      BERTH_ASSIGN_OR_RETURN(image::Index index, image::ParseIndex(manifest_doc.body, "index"));
      BERTH_ASSIGN_OR_RETURN(desc, image::SelectPlatform(index, options_.platform).Wrap(what));
      BERTH_ASSIGN_OR_RETURN(manifest_doc, FetchManifestByDigest(desc));
    } else if (!image::IsManifestType(desc.media_type)) {
      return Error::Invalid(what + ": unsupported media type \"" + desc.media_type + "\"");
    }
    BERTH_ASSIGN_OR_RETURN(image::Manifest manifest,
                           image::ParseManifest(manifest_doc.body, "manifest"));
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
      if (!image::IsLayerType(manifest.layers[i].media_type)) {
        return Error::Invalid(what + ": layers[" + std::to_string(i) +
                              "]: unsupported media type \"" + manifest.layers[i].media_type +
                              "\"");
      }
    }
    BERTH_TRY(EnsureBlob(manifest.config, nullptr).Wrap("config of " + ref_.String()));
    BERTH_ASSIGN_OR_RETURN(std::string config_json, store_.ReadBlob(manifest.config.digest));
    BERTH_ASSIGN_OR_RETURN(image::ImageConfig config,
                           image::ParseImageConfig(config_json, "config"));
    if (options_.unpack && config.diff_ids.size() != manifest.layers.size()) {
      return Error::Invalid(what + ": " + std::to_string(manifest.layers.size()) +
                            " layers but the config lists " +
                            std::to_string(config.diff_ids.size()) + " diff_ids");
    }
    BERTH_TRY(FetchLayers(manifest, config));
    // Everything the manifest reaches is stored: now the manifest, then the name.
    BERTH_TRY(StatusOf(store_.PutBlob(manifest_doc.body, desc.digest)));
    BERTH_TRY(store_.SetRef(ref_, desc));
    return image::ImportedImage{ref_.StoreKey(), desc};
  }

 private:
  Result<FetchedManifest> Resolve(const std::vector<Endpoint>& endpoints) {
    const std::string want = ref_.digest ? ref_.digest->String() : ref_.tag;
    std::optional<Error> last;
    for (size_t i = 0; i < endpoints.size(); ++i) {
      auto m = client_.GetManifest(endpoints[i], ref_.registry, ref_.repository, want);
      if (m.ok()) {
        order_ = ContentOrder(endpoints, i);
        SetEndpoint(endpoints[i].BaseUrl());
        return m;
      }
      if (endpoints[i].mirror) {
        log::Warn("mirror failed, trying the next endpoint",
                  {{"mirror", endpoints[i].BaseUrl()}, {"error", m.error().ToString()}});
      }
      last = std::move(m).error();
    }
    return std::move(*last).Wrap("pull " + ref_.String());
  }

  Result<FetchedManifest> FetchManifestByDigest(const Descriptor& d) {
    std::optional<Error> last;
    for (const Endpoint& ep : order_) {
      auto m = client_.GetManifest(ep, ref_.registry, ref_.repository, d.digest.String());
      if (m.ok()) {
        BERTH_TRY(StatusOf(VerifyDocument(*m, d.digest, "manifest " + d.digest.String())));
        if (m->media_type.empty()) m->media_type = d.media_type;
        return m;
      }
      last = std::move(m).error();
    }
    return std::move(*last);
  }

  // Streams one blob into the store from the first endpoint that has it.
  Status EnsureBlob(const Descriptor& d, const TransferProgress* progress) {
    if (store_.HasBlob(d.digest)) return {};
    std::optional<Error> last;
    for (const Endpoint& ep : order_) {
      if (stop_.load()) return Error::Sys(ECANCELED, "pull stopped");
      BERTH_ASSIGN_OR_RETURN(image::BlobWriter writer, store_.NewBlobWriter(d.digest, d.size));
      BlobSink sink = [&writer](const char* data, size_t len) { return writer.Write(data, len); };
      Status s = client_.GetBlob(ep, ref_.registry, ref_.repository, d.digest.String(), sink,
                                 progress ? *progress : nullptr);
      if (s.ok()) s = StatusOf(writer.Commit());
      if (s.ok()) return {};
      if (s.error().err() == ECANCELED || order_.size() == 1) return s;
      log::Warn("blob fetch failed, trying the next endpoint", {{"endpoint", ep.BaseUrl()},
                                                                {"digest", d.digest.String()},
                                                                {"error", s.error().ToString()}});
      last = std::move(s).error();
    }
    return std::move(*last);
  }

  void SetEndpoint(std::string url) {
    std::lock_guard lock(mu_);
    progress_.reference = ref_.String();
    progress_.endpoint = std::move(url);
  }

  void Report() {
    if (options_.progress) options_.progress(progress_);
  }

  Status FetchLayers(const image::Manifest& manifest, const image::ImageConfig& config) {
    const size_t n = manifest.layers.size();
    std::vector<int64_t> done(n, 0);
    std::vector<size_t> todo;
    {
      std::lock_guard lock(mu_);
      progress_.layers_total = static_cast<int>(n);
      for (size_t i = 0; i < n; ++i) {
        if (store_.HasBlob(manifest.layers[i].digest)) {
          ++progress_.layers_cached;
        } else {
          progress_.bytes_total += manifest.layers[i].size;
        }
        todo.push_back(i);
      }
      Report();
    }
    std::atomic<size_t> next{0};
    std::optional<Error> first_error;
    auto worker = [&] {
      for (size_t k = next++; k < todo.size() && !stop_.load(); k = next++) {
        const size_t i = todo[k];
        const Descriptor& layer = manifest.layers[i];
        TransferProgress progress = [&, i](int64_t now, int64_t /*total*/) {
          std::lock_guard lock(mu_);
          progress_.bytes_done += now - done[i];
          done[i] = now;
          Report();
          return !stop_.load();
        };
        Status s = EnsureBlob(layer, &progress)
                       .Wrap("layer " + std::to_string(i) + " of " + ref_.String());
        if (s.ok() && options_.unpack) {
          s = StatusOf(image::EnsureSnapshot(store_, layer, config.diff_ids[i]));
        }
        std::lock_guard lock(mu_);
        if (!s.ok()) {
          if (!first_error || first_error->err() == ECANCELED) first_error = std::move(s).error();
          stop_ = true;
          return;
        }
        ++progress_.layers_done;
        Report();
      }
    };
    const size_t threads =
        std::min(todo.size(), static_cast<size_t>(std::max(1, options_.parallel_layers)));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
    if (first_error) return std::move(*first_error);
    std::lock_guard lock(mu_);
    progress_.finished = true;
    Report();
    return {};
  }

  const ImageStore& store_;
  RegistryClient& client_;
  const image::Reference& ref_;
  const PullOptions& options_;
  std::vector<Endpoint> order_;
  std::mutex mu_;
  PullProgress progress_;
  std::atomic<bool> stop_{false};
};

}  // namespace

Result<image::ImportedImage> Pull(const ImageStore& store, RegistryClient& client,
                                  const RegistryHosts& hosts, std::string_view reference,
                                  const PullOptions& options) {
  BERTH_ASSIGN_OR_RETURN(image::Reference ref, image::ParseReference(reference));
  Puller puller(store, client, ref, options);
  return puller.Run(hosts.EndpointsFor(ref.registry));
}

}  // namespace berth::runtime::registry
