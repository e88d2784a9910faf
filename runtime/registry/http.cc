#include "http.h"

#include <cctype>
#include <cerrno>
#include <memory>
#include <mutex>
#include <optional>

#include <curl/curl.h>

namespace berth::runtime::registry::detail {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Transfer {
  CURL* curl = nullptr;
  const BlobSink* sink = nullptr;
  const TransferProgress* progress = nullptr;
  size_t max_body = 0;
  HttpResponse response;
  std::optional<Error> sink_error;
  bool too_large = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (redirect, 100 Continue, 401 retry)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->response.headers[name] = std::string(value);
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  const bool success = status >= 200 && status < 300;
  if (success && t->sink) {
    Status s = (*t->sink)(data, len);
    if (!s.ok()) {
      t->sink_error = std::move(s).error();
      return CURL_WRITEFUNC_ERROR;
    }
    return len;
  }
  if (t->response.body.size() + len > t->max_body) {
    if (success) {
      t->too_large = true;
      return CURL_WRITEFUNC_ERROR;
    }
    t->response.body.append(data, t->max_body - t->response.body.size());
    return len;
  }
  t->response.body.append(data, len);
  return len;
}

int OnProgress(void* userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t /*ultotal*/,
               curl_off_t /*ulnow*/) {
  auto* t = static_cast<Transfer*>(userp);
  if (t->progress && *t->progress && !(*t->progress)(dlnow, dltotal)) return 1;
  return 0;
}

}  // namespace

Result<HttpResponse> HttpGet(const HttpRequest& request, const BlobSink* sink,
                             const TransferProgress* progress, size_t max_body) {
  GlobalInit();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Error::Sys(ENOMEM, "curl_easy_init");
  curl_slist* list = nullptr;
  for (const std::string& h : request.headers) {
    curl_slist* l = curl_slist_append(list, h.c_str());
    if (!l) {
      curl_slist_free_all(list);
      return Error::Sys(ENOMEM, "curl_slist_append");
    }
    list = l;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(list);
  Transfer t;
  t.curl = curl.get();
  t.sink = sink;
  t.progress = progress;
  t.max_body = max_body;
  char errbuf[CURL_ERROR_SIZE] = {};
  const char* protocols = request.allow_plain_http ? "http,https" : "https";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, request.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, request.connect_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, request.stall_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

  CURLcode rc = curl_easy_perform(c);
  if (t.sink_error) return std::move(*t.sink_error);
  if (t.too_large) {
    return Error::Sys(EMSGSIZE, "GET " + request.url + ": answer larger than " +
                                    std::to_string(max_body) + " bytes");
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Error::Sys(ECANCELED, "GET " + request.url);
  if (rc != CURLE_OK) {
    std::string msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return Error::Sys(EIO, "GET " + request.url + ": " + msg);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  return std::move(t.response);
}

}  // namespace berth::runtime::registry::detail
