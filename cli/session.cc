#include "session.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "client_config.h"

#include "berth/common/file.h"

namespace berth::cli {
namespace {

namespace fs = std::filesystem;

const char* Reason(int err) {
  switch (err) {
    case ENOENT:
      return "NotFound";
    case EEXIST:
      return "AlreadyExists";
    case ESTALE:
      return "Conflict";
    case EINVAL:
      return "Invalid";
    case EACCES:
    case EPERM:
      return "Forbidden";
    case ERANGE:
      return "Expired";
    case EBUSY:
      return "TooManyRequests";
    default:
      return nullptr;
  }
}

bool IsManifestFile(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

Result<Session> Connect(const GlobalFlags& flags) {
  Session s;
  Connection conn;
  const fs::path path = flags.config.empty() ? DefaultConfigPath() : fs::path(flags.config);
  auto config = LoadClientConfig(path);
  if (config.ok()) {
    BERTH_ASSIGN_OR_RETURN(conn, ResolveConnection(*config, flags.context));
  } else if (config.error().err() == ENOENT && flags.config.empty() &&
             ::access(kLocalControlSocket, W_OK) == 0) {
    conn.server = std::string("unix:") + kLocalControlSocket;
    conn.namespace_ = "default";
  } else if (config.error().err() == ENOENT) {
    return Error::Msg(config.error().Chain());  // the client's own file, not the server's
  } else {
    return config.error();
  }
  s.server = flags.server.empty() ? conn.server : flags.server;
  s.namespace_ = conn.namespace_.empty() ? "default" : conn.namespace_;
  if (!flags.namespace_.empty()) {
    s.namespace_ = flags.namespace_;
    s.namespace_given = true;
  }
  BERTH_ASSIGN_OR_RETURN(s.client, api::ControlClient::Connect(s.server, conn.credentials));
  return s;
}

std::string ErrorText(const Error& e) {
  const char* reason = Reason(e.err());
  if (e.err() == ECONNREFUSED || e.err() == EHOSTUNREACH || e.err() == ETIMEDOUT ||
      e.err() == EAGAIN) {
    return "error: " + e.Chain() +
           " - is berth-control running (berth up) and is the address right?";
  }
  if (reason == nullptr) return "error: " + e.Chain();
  return std::string("Error from server (") + reason + "): " + e.Chain();
}

int Fail(const Error& e) {
  (void)std::fprintf(stderr, "%s\n", ErrorText(e).c_str());
  return 1;
}

Result<std::vector<api::Manifest>> ReadManifests(const std::vector<std::string>& paths,
                                                 bool recursive) {
  std::vector<api::Manifest> out;
  auto add = [&](const std::string& text, const std::string& what) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto docs, api::DecodeManifests(text, what));
    for (auto& d : docs) out.push_back(std::move(d));
    return {};
  };
  for (const std::string& p : paths) {
    if (p == "-") {
      std::string text((std::istreambuf_iterator<char>(std::cin)), {});
      BERTH_TRY(add(text, "STDIN"));
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      auto visit = [&](const fs::directory_entry& e) {
        if (e.is_regular_file() && IsManifestFile(e.path())) files.push_back(e.path());
      };
      if (recursive) {
        for (const auto& e : fs::recursive_directory_iterator(p, ec)) visit(e);
      } else {
        for (const auto& e : fs::directory_iterator(p, ec)) visit(e);
      }
      if (ec) return Error::Sys(ec.value(), "read directory " + p + ": " + ec.message());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(f));
        BERTH_TRY(add(text, f.string()));
      }
      continue;
    }
    auto text = ReadFile(p);
    if (!text.ok()) {
      if (text.error().err() == ENOENT) {
        return Error::Msg("the path \"" + p + "\" does not exist");
      }
      return text.error();
    }
    BERTH_TRY(add(*text, p));
  }
  if (out.empty()) return Error::Msg("no objects passed to apply");
  return out;
}

}  // namespace berth::cli
