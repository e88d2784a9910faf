// The client configuration `berth` reads, kubeconfig's shape in its own file
// (~/.berth/config, or --config / BERTH_CONFIG): clusters (server address,
// CA file), users (client certificate and key files, or a bearer token),
// contexts (a cluster, a user and a default namespace) and the current
// context. `berth up` writes one; `berth config` reads and edits it.
//
// Values and functions; thread-safe. Errors: ENOENT when the file is
// missing, EINVAL naming the file and the field for a bad one, the errno of
// reading the files it names.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "berth/api/control_client.h"
#include "berth/common/error.h"

namespace berth::cli {

struct ClusterEntry {
  std::string name;
  std::string server;                 // host:port, or unix:/path
  std::string certificate_authority;  // file; empty: none (unix sockets)
};

struct UserEntry {
  std::string name;
  std::string client_certificate, client_key;  // files
  std::string token;
};

struct ContextEntry {
  std::string name, cluster, user;
  std::string namespace_ = "default";
};

struct ClientConfig {
  std::string current_context;
  std::vector<ClusterEntry> clusters;
  std::vector<UserEntry> users;
  std::vector<ContextEntry> contexts;

  const ContextEntry* FindContext(const std::string& name) const;
  const ClusterEntry* FindCluster(const std::string& name) const;
  const UserEntry* FindUser(const std::string& name) const;
};

// --config, else $BERTH_CONFIG, else ~/.berth/config.
std::filesystem::path DefaultConfigPath();
Result<ClientConfig> ParseClientConfig(std::string_view yaml, std::string_view what);
Result<ClientConfig> LoadClientConfig(const std::filesystem::path& path);
std::string FormatClientConfig(const ClientConfig& config);
// Written 0600 (it may hold a token), atomically.
Status SaveClientConfig(const ClientConfig& config, const std::filesystem::path& path);

// Where to connect and as whom: the context `context` (empty: the current
// one) with its cluster's and user's files read.
struct Connection {
  std::string context;
  std::string server;
  api::ClientCredentials credentials;
  std::string namespace_;
};
Result<Connection> ResolveConnection(const ClientConfig& config, const std::string& context);

}  // namespace berth::cli
