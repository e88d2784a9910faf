// Registry authentication inputs: credentials from a docker-style config.json
// ({"auths": {"host": {"auth": base64("user:pass")}}} or username/password
// members; docker.io is keyed "https://index.docker.io/v1/") and the
// WWW-Authenticate challenges of RFC 7235 a registry answers 401 with
// (Bearer realm/service/scope as the distribution token spec describes, or
// Basic). Values only; thread-safe. Errors: EINVAL naming the file and entry.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"

namespace berth::runtime::registry {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth2 refresh token, sent to the realm
};

class CredentialStore {
 public:
  // $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
  static std::filesystem::path DefaultPath();
  // A missing file is an empty store.
  static Result<CredentialStore> Load(const std::filesystem::path& path);
  static Result<CredentialStore> Parse(std::string_view json, std::string_view what);

  // Credentials for a registry as named in references ("docker.io",
  // "127.0.0.1:5000"); keys with a scheme or path match by host.
  std::optional<Credentials> Find(std::string_view registry) const;
  void Set(const std::string& registry, Credentials creds);

 private:
  std::map<std::string, Credentials, std::less<>> by_host_;
};

struct AuthChallenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower case
};

// Parses a WWW-Authenticate header value (one or more challenges).
Result<std::vector<AuthChallenge>> ParseWwwAuthenticate(std::string_view header);

// Base64 (RFC 4648, with padding).
std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view data);

}  // namespace berth::runtime::registry
