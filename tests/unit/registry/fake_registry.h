// An in-process HTTP/1.1 server on 127.0.0.1 that speaks enough of the OCI
// distribution API for the registry client tests: it serves the manifests and
// blobs put into it, records every request, and lets a test replace answers
// (auth challenges, corrupted or truncated bodies). One connection at a time,
// "Connection: close" on every answer.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace berth::runtime::registry::testing {

struct FakeRequest {
  std::string method;
  std::string path;                            // with the query string
  std::map<std::string, std::string> headers;  // names lower case
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Send only this many body bytes (Content-Length still announces all of
  // them), then close: a truncated transfer.
  std::optional<size_t> truncate_at;
};

inline FakeResponse Answer(int status, std::vector<std::pair<std::string, std::string>> headers,
                           std::string body) {
  FakeResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

class FakeRegistry {
 public:
  // A hook may answer a request itself; returning nullopt lets the default
  // routes (manifests and blobs) answer.
  using Hook = std::function<std::optional<FakeResponse>(const FakeRequest&)>;

  FakeRegistry();
  ~FakeRegistry();
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  // "127.0.0.1:<port>"
  std::string host() const;
  std::string url() const { return "http://" + host(); }

  // Content served under /v2/<repo>/...; a manifest answers by tag and by digest.
  void AddBlob(const std::string& repo, const std::string& digest, std::string data);
  void AddManifest(const std::string& repo, const std::string& tag, const std::string& media_type,
                   const std::string& digest, std::string body);
  void SetHook(Hook hook);

  std::vector<FakeRequest> requests() const;
  // How many GETs asked for this path suffix ("blobs/sha256:...").
  int CountRequests(const std::string& path_suffix) const;

 private:
  void Serve();
  void Handle(int fd);
  FakeResponse Route(const FakeRequest& req);

  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  Hook hook_;
  std::vector<FakeRequest> requests_;
  std::map<std::string, std::pair<std::string, std::string>> manifests_;  // path -> type, body
  std::map<std::string, std::string> blobs_;                              // path -> data
};

}  // namespace berth::runtime::registry::testing
