// Internal: one HTTP GET over libcurl, with the registry client's policies
// (protocols, timeouts, redirects, size limits). Not part of the public API.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/runtime/registry/client.h"

namespace berth::runtime::registry::detail {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool allow_plain_http = false;     // else only https, also for redirects
  std::string user_agent;
  long connect_timeout_seconds = 30;
  long stall_timeout_seconds = 60;
};

struct HttpResponse {
  long status = 0;
  // Headers of the final response (after redirects), names lower case.
  std::map<std::string, std::string> headers;
  // The body when no sink took it (non-2xx answers always land here).
  std::string body;
};

// `sink` receives the body of a 2xx answer; otherwise the body is kept in
// the response up to `max_body` bytes (more is EMSGSIZE for 2xx answers and
// silently cut for error answers, whose body only feeds messages).
Result<HttpResponse> HttpGet(const HttpRequest& request, const BlobSink* sink,
                             const TransferProgress* progress, size_t max_body);

}  // namespace berth::runtime::registry::detail
