// ConfigMap and Secret: keys (file names in a volume), the 1 MiB size limit
// (etcd's request limit, kept by Kubernetes), the typed secrets' required
// keys, and immutability, after Kubernetes' ValidateConfigMap(Update) and
// ValidateSecret(Update).
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "validation_internal.h"

namespace berth::control::internal {
namespace {

constexpr int64_t kMaxSize = int64_t{1024} * 1024;  // core.MaxSecretSize, also for ConfigMaps
constexpr std::string_view kImmutableWhenSet = "field is immutable when `immutable` is set";

template <typename Map>
int64_t ValidateKeys(const Map& map, const std::string& path, ErrorList& errs) {
  int64_t total = 0;
  for (const std::string& key : SortedKeys(map)) {
    for (const std::string& msg : ConfigKeyErrors(key))
      errs.InvalidString(Key(path, key), key, msg);
    total += static_cast<int64_t>(map.at(key).size());
  }
  return total;
}

template <typename Map>
bool MapsEqual(const Map& a, const Map& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second != v) return false;
  }
  return true;
}

// Kubernetes' required data keys of the well-known secret types.
void ValidateSecretType(const v1::Secret& secret, ErrorList& errs) {
  const auto& data = secret.data();
  auto required = [&](const char* key) {
    if (data.find(key) == data.end()) errs.Required(Key("data", key));
  };
  const std::string& type = secret.type();
  if (type == "kubernetes.io/tls") {
    required("tls.crt");
    required("tls.key");
  } else if (type == "kubernetes.io/dockerconfigjson") {
    auto it = data.find(".dockerconfigjson");
    if (it == data.end()) {
      errs.Required(Key("data", ".dockerconfigjson"));
      return;
    }
    google::protobuf::Struct parsed;
    const auto status = google::protobuf::util::JsonStringToMessage(it->second, &parsed);
    if (!status.ok()) {
      errs.InvalidString(Key("data", ".dockerconfigjson"), "<secret contents redacted>",
                         "must be a JSON object");
    }
  } else if (type == "kubernetes.io/basic-auth") {
    if (data.find("username") == data.end() && data.find("password") == data.end()) {
      errs.Required(Key("data", "username"));
      errs.Required(Key("data", "password"));
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    auto it = data.find("ssh-privatekey");
    if (it == data.end() || it->second.empty()) errs.Required(Key("data", "ssh-privatekey"));
  } else if (type == "kubernetes.io/service-account-token") {
    auto it = secret.metadata().annotations().find("kubernetes.io/service-account.name");
    if (it == secret.metadata().annotations().end() || it->second.empty()) {
      errs.Required(Key("metadata.annotations", "kubernetes.io/service-account.name"));
    }
  }
}

}  // namespace

void ValidateKind(const v1::ConfigMap& cm, ErrorList& errs) {
  int64_t total = ValidateKeys(cm.data(), "data", errs);
  for (const std::string& key : SortedKeys(cm.data())) {
    if (cm.binary_data().count(key) != 0) {
      errs.InvalidString(Key("data", key), key, "duplicate of key present in binaryData");
    }
  }
  total += ValidateKeys(cm.binary_data(), "binaryData", errs);
  // An empty path: the error is about the whole object, as in Kubernetes.
  if (total > kMaxSize) errs.TooLong("", kMaxSize);
}

void ValidateKindUpdate(const v1::ConfigMap& updated, const v1::ConfigMap& old, ErrorList& errs) {
  if (!old.has_immutable() || !old.immutable()) return;
  if (!updated.has_immutable() || !updated.immutable())
    errs.Forbidden("immutable", kImmutableWhenSet);
  if (!MapsEqual(updated.data(), old.data())) errs.Forbidden("data", kImmutableWhenSet);
  if (!MapsEqual(updated.binary_data(), old.binary_data())) {
    errs.Forbidden("binaryData", kImmutableWhenSet);
  }
}

void ValidateKind(const v1::Secret& secret, ErrorList& errs) {
  // stringData is merged into data by ApplyDefaults; its keys count the
  // same when a caller validates without defaulting.
  int64_t total = ValidateKeys(secret.data(), "data", errs);
  total += ValidateKeys(secret.string_data(), "stringData", errs);
  if (total > kMaxSize) errs.TooLong("data", kMaxSize);
  ValidateSecretType(secret, errs);
}

void ValidateKindUpdate(const v1::Secret& updated, const v1::Secret& old, ErrorList& errs) {
  if (updated.type() != old.type()) errs.InvalidString("type", updated.type(), kImmutable);
  if (!old.has_immutable() || !old.immutable()) return;
  if (!updated.has_immutable() || !updated.immutable())
    errs.Forbidden("immutable", kImmutableWhenSet);
  if (!MapsEqual(updated.data(), old.data())) errs.Forbidden("data", kImmutableWhenSet);
}

}  // namespace berth::control::internal
