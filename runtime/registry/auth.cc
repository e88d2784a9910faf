#include "berth/runtime/registry/auth.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <openssl/evp.h>

#include "json_fields.h"

#include "berth/common/file.h"

namespace berth::runtime::registry {
namespace {

using image::detail::GetString;
using image::detail::Json;
using image::detail::JsonError;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "https://index.docker.io/v1/" -> "docker.io"; "http://h:5000/x" -> "h:5000".
std::string HostOfKey(std::string_view key) {
  if (size_t p = key.find("://"); p != std::string_view::npos) key.remove_prefix(p + 3);
  if (size_t p = key.find('/'); p != std::string_view::npos) key = key.substr(0, p);
  std::string host(key);
  if (host == "index.docker.io" || host == "registry-1.docker.io") host = "docker.io";
  return host;
}

// RFC 7230 token characters.
bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void SkipSpace(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

std::string ReadToken(std::string_view s, size_t& i) {
  size_t start = i;
  while (i < s.size() && IsTokenChar(s[i])) ++i;
  return std::string(s.substr(start, i - start));
}

Result<std::string> ReadQuoted(std::string_view s, size_t& i) {
  std::string out;
  ++i;  // opening quote
  while (i < s.size() && s[i] != '"') {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i++];
  }
  if (i >= s.size()) return Error::Invalid("WWW-Authenticate: unterminated quoted string");
  ++i;
  return out;
}

}  // namespace

std::filesystem::path CredentialStore::DefaultPath() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) {
    return std::filesystem::path(dir) / "config.json";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/root") / ".docker" / "config.json";
}

Result<CredentialStore> CredentialStore::Load(const std::filesystem::path& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.error().err() == ENOENT) return CredentialStore();
    return std::move(text).error();
  }
  return Parse(*text, path.string());
}

Result<CredentialStore> CredentialStore::Parse(std::string_view json, std::string_view what) {
  const std::string doc(what);
  BERTH_ASSIGN_OR_RETURN(Json j, image::detail::ParseJson(json, doc));
  CredentialStore store;
  auto auths = j.find("auths");
  if (auths == j.end() || auths->is_null()) return store;
  if (!auths->is_object()) return JsonError(doc + ".auths", "expected an object");
  for (const auto& [key, entry] : auths->items()) {
    std::string path = doc;
    path.append(".auths[\"").append(key).append("\"]");
    if (!entry.is_object()) return JsonError(path, "expected an object");
    Credentials c;
    BERTH_ASSIGN_OR_RETURN(std::string auth, GetString(entry, "auth", path, false));
    BERTH_ASSIGN_OR_RETURN(c.username, GetString(entry, "username", path, false));
    BERTH_ASSIGN_OR_RETURN(c.password, GetString(entry, "password", path, false));
    BERTH_ASSIGN_OR_RETURN(c.identity_token, GetString(entry, "identitytoken", path, false));
    if (!auth.empty()) {
      auto decoded = Base64Decode(auth);
      if (!decoded.ok()) return JsonError(path + ".auth", "not base64");
      size_t colon = decoded->find(':');
      if (colon == std::string::npos) return JsonError(path + ".auth", "expected user:password");
      c.username = decoded->substr(0, colon);
      c.password = decoded->substr(colon + 1);
    }
    if (c.username.empty() && c.identity_token.empty()) continue;  // a credential helper entry
    store.by_host_[HostOfKey(key)] = std::move(c);
  }
  return store;
}

std::optional<Credentials> CredentialStore::Find(std::string_view registry) const {
  auto it = by_host_.find(HostOfKey(registry));
  if (it == by_host_.end()) return std::nullopt;
  return it->second;
}

void CredentialStore::Set(const std::string& registry, Credentials creds) {
  by_host_[HostOfKey(registry)] = std::move(creds);
}

Result<std::vector<AuthChallenge>> ParseWwwAuthenticate(std::string_view s) {
  std::vector<AuthChallenge> out;
  size_t i = 0;
  while (true) {
    SkipSpace(s, i);
    while (i < s.size() && s[i] == ',') {
      ++i;
      SkipSpace(s, i);
    }
    if (i >= s.size()) break;
    std::string word = ReadToken(s, i);
    if (word.empty()) {
      return Error::Invalid("WWW-Authenticate: unexpected '" + std::string(1, s[i]) +
                            "' at offset " + std::to_string(i));
    }
    SkipSpace(s, i);
    if (i < s.size() && s[i] == '=' && !out.empty()) {
      // A parameter of the current challenge.
      ++i;
      SkipSpace(s, i);
      std::string value;
      if (i < s.size() && s[i] == '"') {
        BERTH_ASSIGN_OR_RETURN(value, ReadQuoted(s, i));
      } else {
        value = ReadToken(s, i);
      }
      out.back().params[Lower(word)] = value;
      continue;
    }
    out.push_back(AuthChallenge{Lower(word), {}});
  }
  if (out.empty()) return Error::Invalid("WWW-Authenticate: no challenge");
  return out;
}

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view data) {
  if (data.size() % 4 != 0) return Error::Invalid("base64: length is not a multiple of 4");
  std::string out(data.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  if (n < 0) return Error::Invalid("base64: invalid character");
  size_t pad = 0;
  if (!data.empty() && data.back() == '=') ++pad;
  if (data.size() > 1 && data[data.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace berth::runtime::registry
