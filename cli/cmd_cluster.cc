// version, cluster-info, config (view, get-contexts, current-context,
// use-context).
#include <cstdio>

#include "client_config.h"
#include "commands.h"

namespace berth::cli {
namespace {

constexpr const char* kVersion = "v0.1.0";

int Version(const GlobalFlags& g, bool client_only) {
  std::printf("Client Version: %s\n", kVersion);
  if (client_only) return 0;
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto ns = s->client->Get("Namespace", "", "default");
  if (!ns.ok()) return Fail(ns.error());
  std::printf("Server Version: %s (berth-control at %s)\n", kVersion, s->server.c_str());
  return 0;
}

int ClusterInfo(const GlobalFlags& g) {
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto ns = s->client->Get("Namespace", "", "default");
  if (!ns.ok()) return Fail(ns.error());
  v1::ListRequest req;
  req.set_kind("Node");
  auto nodes = s->client->List(req);
  std::printf("Berth control plane is running at %s\n", s->server.c_str());
  if (nodes.ok()) {
    std::printf("Nodes: %d (berth get nodes)\n", nodes->items_size());
  }
  std::printf(
      "\nTo further debug and diagnose cluster problems, use 'berth describe nodes' and 'berth "
      "events -A'.\n");
  return 0;
}

Result<ClientConfig> Load(const GlobalFlags& g) {
  auto c =
      LoadClientConfig(g.config.empty() ? DefaultConfigPath() : std::filesystem::path(g.config));
  if (!c.ok()) return Error::Msg(c.error().Chain());  // a local file: not the server's error
  return c;
}

}  // namespace

void AddClusterCommands(CLI::App& app, const GlobalFlags& g, int* exit_code) {
  auto* version = app.add_subcommand("version", "print the client and server versions");
  auto client_only = std::make_shared<bool>(false);
  version->add_flag("--client", *client_only, "the client version only");
  version->callback([&g, client_only, exit_code] { *exit_code = Version(g, *client_only); });

  auto* info = app.add_subcommand("cluster-info", "show where the control plane is");
  info->callback([&g, exit_code] { *exit_code = ClusterInfo(g); });

  auto* config = app.add_subcommand("config", "read and change the client configuration");
  config->require_subcommand(1);
  config->add_subcommand("view", "print the configuration")->callback([&g, exit_code] {
    auto c = Load(g);
    if (!c.ok()) {
      *exit_code = Fail(c.error());
      return;
    }
    std::printf("%s", FormatClientConfig(*c).c_str());
  });
  config->add_subcommand("current-context", "print the current context")->callback([&g, exit_code] {
    auto c = Load(g);
    if (!c.ok()) {
      *exit_code = Fail(c.error());
      return;
    }
    if (c->current_context.empty()) {
      *exit_code = Fail(Error::Msg("current-context is not set"));
      return;
    }
    std::printf("%s\n", c->current_context.c_str());
  });
  config->add_subcommand("get-contexts", "list the contexts")->callback([&g, exit_code] {
    auto c = Load(g);
    if (!c.ok()) {
      *exit_code = Fail(c.error());
      return;
    }
    std::printf("%-10s%-20s%-20s%-20s%s\n", "CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE");
    for (const auto& cx : c->contexts) {
      std::printf("%-10s%-20s%-20s%-20s%s\n", cx.name == c->current_context ? "*" : "",
                  cx.name.c_str(), cx.cluster.c_str(), cx.user.c_str(), cx.namespace_.c_str());
    }
  });
  auto* use = config->add_subcommand("use-context", "make a context the current one");
  auto name = std::make_shared<std::string>();
  use->add_option("name", *name, "context name")->required();
  use->callback([&g, name, exit_code] {
    const auto path = g.config.empty() ? DefaultConfigPath() : std::filesystem::path(g.config);
    auto c = LoadClientConfig(path);
    if (!c.ok()) {
      *exit_code = Fail(c.error());
      return;
    }
    if (c->FindContext(*name) == nullptr) {
      *exit_code = Fail(Error::Msg("no context exists with the name: \"" + *name + "\""));
      return;
    }
    c->current_context = *name;
    if (auto st = SaveClientConfig(*c, path); !st.ok()) {
      *exit_code = Fail(st.error());
      return;
    }
    std::printf("Switched to context \"%s\".\n", name->c_str());
  });
}

}  // namespace berth::cli
