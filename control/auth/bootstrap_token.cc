#include <google/protobuf/util/time_util.h>
#include <openssl/crypto.h>

#include "berth/control/auth.h"
#include "berth/pki/pki.h"

namespace berth::control {

using pki::NewBootstrapToken;
using pki::ParseBootstrapToken;
namespace {

constexpr std::string_view kSystemNamespace = "berth-system";

std::string SecretName(std::string_view id) { return "bootstrap-token-" + std::string(id); }

}  // namespace

std::function<bool(std::string_view)> BootstrapTokenVerifier(Registry& registry) {
  return [&registry](std::string_view token) {
    auto parsed = ParseBootstrapToken(token);
    if (!parsed.ok()) return false;
    const auto& [id, secret] = *parsed;
    auto object = registry.Get({"Secret", std::string(kSystemNamespace), SecretName(id)});
    if (!object.ok()) return false;
    const auto& data = object->secret().data();
    auto value = [&](const char* key) {
      auto it = data.find(key);
      return it == data.end() ? std::string() : it->second;
    };
    const std::string want = value("token-secret");
    // Constant time: the comparison must not tell how much of it matched.
    if (want.size() != secret.size() ||
        CRYPTO_memcmp(want.data(), secret.data(), secret.size()) != 0) {
      return false;
    }
    if (value("usage-bootstrap-authentication") != "true") return false;
    const std::string expiration = value("expiration");
    if (!expiration.empty()) {
      google::protobuf::Timestamp t;
      if (!google::protobuf::util::TimeUtil::FromString(expiration, &t)) return false;
      if (google::protobuf::util::TimeUtil::TimestampToNanoseconds(t) <
          std::chrono::duration_cast<std::chrono::nanoseconds>(registry.Now().time_since_epoch())
              .count()) {
        return false;
      }
    }
    return true;
  };
}

Result<std::string> CreateBootstrapToken(Registry& registry, std::chrono::seconds ttl) {
  auto token = NewBootstrapToken();
  if (!token.ok()) return token.error();
  auto parsed = ParseBootstrapToken(*token);
  if (!parsed.ok()) return parsed.error();
  v1::Object object;
  v1::Secret* secret = object.mutable_secret();
  secret->mutable_metadata()->set_name(SecretName(parsed->first));
  secret->mutable_metadata()->set_namespace_(std::string(kSystemNamespace));
  secret->set_type("bootstrap.kubernetes.io/token");
  auto& data = *secret->mutable_data();
  data["token-id"] = parsed->first;
  data["token-secret"] = parsed->second;
  data["usage-bootstrap-authentication"] = "true";
  const auto expires = registry.Now() + ttl;
  data["expiration"] = google::protobuf::util::TimeUtil::ToString(
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          std::chrono::duration_cast<std::chrono::nanoseconds>(expires.time_since_epoch())
              .count()));
  auto created = registry.Create(std::move(object));
  if (!created.ok()) return std::move(created).error().Wrap("store bootstrap token");
  return *token;
}

}  // namespace berth::control
