#include <cerrno>
#include <sstream>

#include "berth/control/auth.h"
#include "berth/pki/pki.h"

namespace berth::control {

using pki::ReadCertificate;
namespace {

// One CSV line with double-quoted fields (the groups column holds commas).
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::vector<std::string> SplitGroups(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  return out;
}

std::string MetadataValue(const grpc::ServerContextBase& ctx, std::string_view key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

bool Principal::InGroup(std::string_view group) const {
  for (const auto& g : groups) {
    if (g == group) return true;
  }
  return false;
}

std::string Principal::NodeName() const {
  if (!InGroup(kNodesGroup) || user.rfind(kNodeUserPrefix, 0) != 0) return "";
  return user.substr(kNodeUserPrefix.size());
}

Result<Authenticator> Authenticator::Create(AuthenticatorOptions options) {
  Authenticator a;
  std::istringstream in(options.token_file_contents);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    auto fields = SplitCsv(line);
    if (fields.size() < 3 || fields[0].empty() || fields[1].empty()) {
      return Error::Invalid("token file line " + std::to_string(number) +
                            ": want token,user,uid[,\"group1,group2\"]");
    }
    Principal p{fields[1], fields.size() > 3 ? SplitGroups(fields[3]) : std::vector<std::string>{}};
    if (!a.tokens_.emplace(fields[0], std::move(p)).second) {
      return Error::Invalid("token file line " + std::to_string(number) + ": duplicate token");
    }
  }
  a.options_ = std::move(options);
  a.options_.token_file_contents.clear();
  return a;
}

Result<Principal> Authenticator::FromCertificate(const std::string& cert_pem) {
  auto info = ReadCertificate(cert_pem);
  if (!info.ok()) return std::move(info).error().Wrap("client certificate");
  return Principal{info->subject.common_name, info->subject.organizations};
}

Result<Principal> Authenticator::Authenticate(const grpc::ServerContextBase& ctx) const {
  const auto auth = ctx.auth_context();
  bool secure = false;
  if (auth != nullptr) {
    for (const auto& type : auth->FindPropertyValues("transport_security_type")) {
      secure = secure || type == "ssl";
    }
    // gRPC has verified the chain against the cluster CA before this runs.
    if (secure && auth->IsPeerAuthenticated()) {
      const auto certs = auth->FindPropertyValues("x509_pem_cert");
      if (!certs.empty())
        return FromCertificate(std::string(certs.front().data(), certs.front().size()));
    }
  }
  const std::string header = MetadataValue(ctx, "authorization");
  if (header.rfind("Bearer ", 0) == 0) {
    const std::string token = header.substr(7);
    if (auto it = tokens_.find(token); it != tokens_.end()) return it->second;
    const auto dot = token.find('.');
    if (dot == 6 && options_.bootstrap_token_valid && options_.bootstrap_token_valid(token)) {
      return Principal{"system:bootstrap:" + token.substr(0, dot),
                       {std::string(kBootstrappersGroup)}};
    }
    return Error::Sys(EACCES, "Unauthorized: the bearer token is not valid");
  }
  if (!secure && options_.insecure_is_local_admin) {
    return Principal{"system:local-admin", {std::string(kMastersGroup)}};
  }
  return Error::Sys(EACCES, "Unauthorized: no client certificate or bearer token");
}

}  // namespace berth::control
