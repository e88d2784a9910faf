#include "berth/runtime/registry/client.h"

#include <cerrno>

#include <curl/curl.h>

#include "http.h"
#include "json_fields.h"

namespace berth::runtime::registry {

const char* const kManifestAccept =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

namespace {

using detail::HttpGet;
using detail::HttpRequest;
using detail::HttpResponse;

std::string Escape(std::string_view s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

std::string Header(const HttpResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

// The first message of a distribution-spec error body, if there is one.
std::string ErrorDetail(const HttpResponse& r) {
  auto j = image::detail::Json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    auto errs = j.find("errors");
    if (errs != j.end() && errs->is_array() && !errs->empty() && (*errs)[0].is_object()) {
      const auto& e = (*errs)[0];
      std::string code = e.value("code", "");
      std::string msg = e.value("message", "");
      if (!code.empty() || !msg.empty()) return code + (msg.empty() ? "" : ": " + msg);
    }
  }
  std::string body = r.body.substr(0, 200);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body;
}

Error StatusError(const HttpResponse& r, const std::string& what) {
  std::string detail = ErrorDetail(r);
  std::string msg = what + ": HTTP " + std::to_string(r.status) +
                    (detail.empty() ? std::string() : " (" + detail + ")");
  if (r.status == 404) return Error::Sys(ENOENT, msg);
  if (r.status == 401 || r.status == 403) return Error::Sys(EACCES, msg);
  return Error::Sys(EPROTO, msg);
}

}  // namespace

struct RegistryClient::Impl {
  ClientOptions options;
  std::mutex mu;
  // endpoint base URL + " " + repository -> Authorization header value.
  std::map<std::string, std::string> auth_cache;

  HttpRequest NewRequest(const std::string& url, bool insecure) const {
    HttpRequest req;
    req.url = url;
    req.allow_plain_http = insecure;
    req.user_agent = options.user_agent;
    req.connect_timeout_seconds = options.connect_timeout_seconds;
    req.stall_timeout_seconds = options.stall_timeout_seconds;
    return req;
  }

  std::string CredentialsSource() const {
    return options.credentials_path.empty() ? CredentialStore::DefaultPath().string()
                                            : options.credentials_path;
  }

  std::optional<std::string> CachedAuth(const std::string& key) {
    std::lock_guard lock(mu);
    auto it = auth_cache.find(key);
    if (it == auth_cache.end()) return std::nullopt;
    return it->second;
  }

  // Answers a 401 challenge: returns the Authorization header value to retry with.
  Result<std::string> Authorize(const Endpoint& ep, std::string_view registry,
                                std::string_view repository, const HttpResponse& unauthorized) {
    const std::string challenge_header = Header(unauthorized, "www-authenticate");
    const std::optional<Credentials> creds = options.credentials.Find(registry);
    const std::string who = "registry " + std::string(registry) + " (" + ep.BaseUrl() + ")";
    if (challenge_header.empty()) {
      return Error::Sys(EACCES, who + " answered 401 without a WWW-Authenticate challenge");
    }
    BERTH_ASSIGN_OR_RETURN(auto challenges, ParseWwwAuthenticate(challenge_header));
    for (const AuthChallenge& ch : challenges) {
      if (ch.scheme == "basic") {
        if (!creds || creds->username.empty()) {
          return Error::Sys(EACCES, who + " requires credentials and none are configured for " +
                                        std::string(registry) + " in " + CredentialsSource());
        }
        return "Basic " + Base64Encode(creds->username + ":" + creds->password);
      }
      if (ch.scheme == "bearer") return FetchToken(ep, registry, repository, ch, creds, who);
    }
    return Error::Sys(EACCES,
                      who + ": unsupported authentication scheme in \"" + challenge_header + "\"");
  }

  Result<std::string> FetchToken(const Endpoint& ep, std::string_view registry,
                                 std::string_view repository, const AuthChallenge& ch,
                                 const std::optional<Credentials>& creds, const std::string& who) {
    auto realm = ch.params.find("realm");
    if (realm == ch.params.end() || realm->second.empty()) {
      return Error::Sys(EACCES, who + ": Bearer challenge without a realm");
    }
    std::string url = realm->second;
    url += url.find('?') == std::string::npos ? '?' : '&';
    if (auto s = ch.params.find("service"); s != ch.params.end()) {
      url += "service=" + Escape(s->second) + "&";
    }
    url += "scope=" + Escape("repository:" + std::string(repository) + ":pull");
    HttpRequest req = NewRequest(url, ep.insecure);
    if (creds && !creds->username.empty()) {
      req.headers.push_back("Authorization: Basic " +
                            Base64Encode(creds->username + ":" + creds->password));
    }
    BERTH_ASSIGN_OR_RETURN(HttpResponse r,
                           HttpGet(req, nullptr, nullptr, options.max_document_bytes));
    if (r.status < 200 || r.status >= 300) {
      Error e = StatusError(r, "token from " + realm->second);
      if (r.status == 401 || r.status == 403) {
        e.Wrap(creds
                   ? "credentials for " + std::string(registry) + " were rejected"
                   : "no credentials for " + std::string(registry) + " in " + CredentialsSource());
      }
      return e;
    }
    auto j = image::detail::Json::parse(r.body, nullptr, false);
    if (!j.is_object()) return Error::Sys(EPROTO, "token from " + realm->second + ": not JSON");
    std::string token = j.value("token", "");
    if (token.empty()) token = j.value("access_token", "");
    if (token.empty()) {
      return Error::Sys(EPROTO, "token from " + realm->second + ": no token in the answer");
    }
    return "Bearer " + token;
  }

  // GET <base>/v2/<repository>/<path>, answering one 401 challenge.
  Result<HttpResponse> Get(const Endpoint& ep, std::string_view registry,
                           std::string_view repository, const std::string& path,
                           const std::vector<std::string>& headers, const BlobSink* sink,
                           const TransferProgress* progress) {
    const std::string url = ep.BaseUrl() + "/v2/" + std::string(repository) + "/" + path;
    const std::string key = ep.BaseUrl() + " " + std::string(repository);
    std::optional<std::string> auth = CachedAuth(key);
    for (int attempt = 0; attempt < 2; ++attempt) {
      HttpRequest req = NewRequest(url, ep.insecure);
      req.headers = headers;
      if (auth) req.headers.push_back("Authorization: " + *auth);
      BERTH_ASSIGN_OR_RETURN(HttpResponse r,
                             HttpGet(req, sink, progress, options.max_document_bytes));
      if (r.status != 401 || attempt == 1) return r;
      BERTH_ASSIGN_OR_RETURN(std::string fresh, Authorize(ep, registry, repository, r));
      if (auth && fresh == *auth) return r;  // the same credentials again: give up
      auth = fresh;
      std::lock_guard lock(mu);
      auth_cache[key] = fresh;
    }
    return Error::Sys(EACCES, url);  // not reached
  }
};

RegistryClient::RegistryClient(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

RegistryClient::~RegistryClient() = default;

Result<FetchedManifest> RegistryClient::GetManifest(const Endpoint& ep, std::string_view registry,
                                                    std::string_view repository,
                                                    std::string_view reference) {
  const std::string what = "manifest " + std::string(repository) + ":" + std::string(reference) +
                           " from " + ep.BaseUrl();
  auto got = impl_->Get(ep, registry, repository, "manifests/" + std::string(reference),
                        {std::string("Accept: ") + kManifestAccept}, nullptr, nullptr);
  if (!got.ok()) {
    Error e = std::move(got).error();
    if (!ep.insecure && e.err() == EIO && e.ToString().find("SSL") != std::string::npos) {
      e.Wrap("TLS failed (a plain-HTTP registry must be marked insecure: --insecure-registry " +
             ep.host + " or \"insecure\": true in the registries config)");
    }
    return std::move(e).Wrap(what);
  }
  HttpResponse r = std::move(got).value();
  if (r.status < 200 || r.status >= 300) return StatusError(r, what);
  FetchedManifest m;
  m.body = std::move(r.body);
  m.media_type = Header(r, "content-type");
  if (size_t semi = m.media_type.find(';'); semi != std::string::npos) m.media_type.resize(semi);
  m.content_digest = Header(r, "docker-content-digest");
  return m;
}

Status RegistryClient::GetBlob(const Endpoint& ep, std::string_view registry,
                               std::string_view repository, std::string_view digest,
                               const BlobSink& sink, const TransferProgress& progress) {
  const std::string what =
      "blob " + std::string(digest) + " of " + std::string(repository) + " from " + ep.BaseUrl();
  BERTH_ASSIGN_OR_RETURN(
      HttpResponse r, impl_
                          ->Get(ep, registry, repository, "blobs/" + std::string(digest), {}, &sink,
                                progress ? &progress : nullptr)
                          .Wrap(what));
  if (r.status < 200 || r.status >= 300) return StatusError(r, what);
  return {};
}

}  // namespace berth::runtime::registry
