// What every `berth` command starts from: the global flags, the client
// configuration they select, a connection to berth-control, and kubectl's
// error wording. Without a configuration file, root on a machine running
// berth-control reaches it over its local socket (/run/berth/control.sock)
// as the administrator, as kubectl on a control-plane node would use
// admin.conf.
//
// Not thread-safe: one command, one thread (watches hold their own stream).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "berth/api/codec.h"
#include "berth/api/control_client.h"
#include "berth/common/error.h"

namespace berth::cli {

struct GlobalFlags {
  std::string config;      // --config
  std::string context;     // --context
  std::string namespace_;  // -n
  std::string server;      // --server: overrides the context's
};

struct Session {
  std::unique_ptr<api::ControlClient> client;
  std::string server;
  std::string namespace_ = "default";  // -n, else the context's
  bool namespace_given = false;        // -n was passed
};

inline constexpr const char* kLocalControlSocket = "/run/berth/control.sock";

Result<Session> Connect(const GlobalFlags& flags);

// kubectl's wording: "Error from server (NotFound): pods \"x\" not found",
// or "error: ..." for a client-side failure.
std::string ErrorText(const Error& e);
// Prints ErrorText to stderr; returns kubectl's exit status (1).
int Fail(const Error& e);

// Objects from files, directories (-R: recursively) and "-" (stdin), in
// order; *.yaml, *.yml and *.json in directories. Errors name the file.
Result<std::vector<api::Manifest>> ReadManifests(const std::vector<std::string>& paths,
                                                 bool recursive);

}  // namespace berth::cli
