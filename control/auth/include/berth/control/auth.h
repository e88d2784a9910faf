// Who is calling berth.v1.Control and what they may do.
//
// Authentication (Authenticator): a TLS client certificate signed by the
// cluster CA gives the user from its CN and the groups from its O fields
// (Kubernetes' x509 convention: CN=system:node:n1, O=system:nodes); a
// bearer token from the token file (a CSV of token,user,uid,"group1,group2"
// as kube-apiserver's --token-auth-file) or a bootstrap token (id.secret,
// checked by the caller-supplied verifier; user system:bootstrap:<id>,
// group system:bootstrappers). A plain connection on the local unix
// socket is the local administrator when so configured (root-only socket).
//
// Authorization (Authorizer), by group:
//   system:masters   admin: everything;
//   berth:view       read everything except Secrets;
//   system:nodes     a node (user system:node:<name>): read and watch its
//                    own pods (list/watch must select spec.nodeName=<name>),
//                    write their status and finish their deletion; read
//                    Secrets and ConfigMaps only when a pod bound to it
//                    uses them; create/update its own Node and Lease; read
//                    Nodes, Services and Endpoints; create Events;
//   system:bootstrappers  only Join.
// A refusal is EACCES naming the user, the verb, the resource and the
// missing permission.
//
// Thread-safe once constructed.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "berth/common/error.h"
#include "berth/control/registry.h"

namespace berth::control {

inline constexpr std::string_view kMastersGroup = "system:masters";
inline constexpr std::string_view kViewGroup = "berth:view";
inline constexpr std::string_view kNodesGroup = "system:nodes";
inline constexpr std::string_view kBootstrappersGroup = "system:bootstrappers";
inline constexpr std::string_view kNodeUserPrefix = "system:node:";

struct Principal {
  std::string user;
  std::vector<std::string> groups;
  bool InGroup(std::string_view group) const;
  // The node name for system:node:<name> in system:nodes; "" otherwise.
  std::string NodeName() const;
};

struct AuthenticatorOptions {
  // Lines of token,user,uid,"group1,group2" (the file's contents).
  std::string token_file_contents;
  // true: a connection without TLS (the unix socket) is the local admin.
  bool insecure_is_local_admin = false;
  // Checks a bootstrap token "id.secret"; empty function: none accepted.
  std::function<bool(std::string_view token)> bootstrap_token_valid;
};

class Authenticator {
 public:
  static Result<Authenticator> Create(AuthenticatorOptions options);
  // EACCES (UNAUTHENTICATED at the edge) when the caller proves nothing.
  Result<Principal> Authenticate(const grpc::ServerContextBase& ctx) const;
  // The principal of a PEM client certificate (CN, O).
  static Result<Principal> FromCertificate(const std::string& cert_pem);

 private:
  AuthenticatorOptions options_;
  std::map<std::string, Principal> tokens_;
};

// One request to authorize.
struct Attributes {
  std::string verb;  // create get list watch update delete (apply: create + update)
  std::string kind;  // as Kubernetes spells it: "Pod"
  std::string namespace_;
  std::string name;
  bool status = false;                 // the status subresource
  std::string field_selector;          // list/watch
  const v1::Object* object = nullptr;  // create/update: the object written
};

class Authorizer {
 public:
  explicit Authorizer(Registry& registry) : registry_(registry) {}
  Status Authorize(const Principal& who, const Attributes& what) const;

 private:
  Status AuthorizeNode(const Principal& who, const std::string& node, const Attributes& what) const;
  bool NodeUses(const std::string& node, const Attributes& what) const;
  Registry& registry_;
};

// Bootstrap tokens as Kubernetes keeps them: Secret "bootstrap-token-<id>"
// in namespace berth-system, type bootstrap.kubernetes.io/token, data
// token-id, token-secret, expiration (RFC 3339) and
// usage-bootstrap-authentication "true".
std::function<bool(std::string_view token)> BootstrapTokenVerifier(Registry& registry);
// Makes a new token valid for `ttl`; returns "id.secret".
Result<std::string> CreateBootstrapToken(Registry& registry, std::chrono::seconds ttl);

// "pods", "deployments.apps": the resource name of denial messages.
std::string ResourceOf(std::string_view kind);

}  // namespace berth::control
