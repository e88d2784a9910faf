#include "join.h"

#include "berth/control/pki.h"

namespace berth::nodeagent {

Result<api::ClientCredentials> JoinCluster(const JoinOptions& o) {
  if (!o.ca_pin.empty()) {
    if (auto st = control::VerifyPublicKeyPin(o.ca_pem, o.ca_pin); !st.ok()) {
      return std::move(st).error().Wrap("join " + o.address +
                                        ": the CA does not match --ca-cert-hash");
    }
  }
  auto key = control::GeneratePrivateKey();
  if (!key.ok()) return std::move(key).error().Wrap("join: node key");
  auto csr =
      control::CreateCsr(*key, {std::string("system:node:") + o.node_name, {"system:nodes"}});
  if (!csr.ok()) return std::move(csr).error().Wrap("join: certificate request");
  auto client = api::ControlClient::Connect(o.address, {.ca_pem = o.ca_pem, .token = o.token});
  if (!client.ok()) return client.error();
  auto joined = (*client)->Join(o.node_name, *csr);
  if (!joined.ok())
    return std::move(joined).error().Wrap("join " + o.address + " as " + o.node_name);
  return api::ClientCredentials{
      .ca_pem = joined->ca_pem(), .cert_pem = joined->certificate_pem(), .key_pem = *key};
}

}  // namespace berth::nodeagent
