// Joining a cluster, the node side (kubeadm join's TLS bootstrap): make a
// private key that never leaves the node, send a certificate request for
// system:node:<name> with the bootstrap token, and get back the node's
// client certificate and the cluster CA. The CA is trusted only if its
// public key matches the pin from `berth-control init` (when given).
//
// Functions only; thread-safe. Errors: EACCES for a refused token or a CA
// that does not match the pin, the transport's errors otherwise.
#pragma once

#include <string>

#include "berth/api/control_client.h"

namespace berth::nodeagent {

struct JoinOptions {
  std::string address;  // host:port of berth-control (TLS)
  std::string token;    // bootstrap token id.secret
  std::string ca_pem;   // the cluster CA to trust for this call; empty: discover it
  std::string ca_pin;   // "sha256:<hex>": checked against ca_pem when set
  std::string node_name;
};

// The cluster CA as berth-control presents it in its TLS chain, trusted
// only because its public key matches `pin` ("sha256:<hex>") and it signed
// the server's certificate (kubeadm's discovery by --ca-cert-hash).
Result<std::string> DiscoverCa(const std::string& address, const std::string& pin);

// Credentials for api::ControlClient::Connect as this node. Without ca_pem
// the CA is discovered by its pin.
Result<api::ClientCredentials> JoinCluster(const JoinOptions& options);

}  // namespace berth::nodeagent
