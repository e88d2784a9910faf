#include "berth/api/control_client.h"

#include <arpa/inet.h>

#include "berth/api/grpc_status.h"
#include "berth/api/kinds.h"

namespace berth::api {

ControlWatch::ControlWatch(std::unique_ptr<grpc::ClientContext> ctx,
                           std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader)
    : ctx_(std::move(ctx)), reader_(std::move(reader)) {}

ControlWatch::~ControlWatch() {
  if (!finished_) {
    ctx_->TryCancel();
    // The stream must be finished before it is destroyed (gRPC's rule);
    // after TryCancel its status is CANCELLED, which is expected.
    (void)reader_->Finish();
  }
}

void ControlWatch::Cancel() { ctx_->TryCancel(); }

Result<std::optional<v1::WatchEvent>> ControlWatch::Next() {
  if (finished_) return std::optional<v1::WatchEvent>();
  v1::WatchEvent event;
  if (reader_->Read(&event)) return std::optional<v1::WatchEvent>(std::move(event));
  finished_ = true;
  const grpc::Status status = reader_->Finish();
  if (status.ok() || status.error_code() == grpc::StatusCode::CANCELLED) {
    return std::optional<v1::WatchEvent>();
  }
  return FromGrpcStatus(status);
}

AsyncWatch::AsyncWatch(v1::Control::Stub& stub, const v1::WatchRequest& request,
                       const std::string& token, EventHandler on_event, DoneHandler on_done)
    : request_(request), on_event_(std::move(on_event)), on_done_(std::move(on_done)) {
  if (!token.empty()) ctx_.AddMetadata("authorization", "Bearer " + token);
  stub.async()->Watch(&ctx_, &request_, this);
  StartRead(&event_);
  StartCall();
}

AsyncWatch::~AsyncWatch() {
  ctx_.TryCancel();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return done_; });
}

void AsyncWatch::Cancel() { ctx_.TryCancel(); }

void AsyncWatch::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended: OnDone follows
  on_event_(event_);
  StartRead(&event_);
}

void AsyncWatch::OnDone(const grpc::Status& status) {
  DoneHandler done = std::move(on_done_);
  const Status result = status.ok() || status.error_code() == grpc::StatusCode::CANCELLED
                            ? Status()
                            : Status(FromGrpcStatus(status));
  {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();  // under the lock: the destructor may run right after
  }
  done(result);  // only locals from here on
}

namespace {

// An IP literal needs no resolver: "ipv4:" / "ipv6:" targets skip gRPC's
// DNS resolver, whose start-up is most of a short command's connect time.
std::string Target(const std::string& address) {
  if (address.rfind("unix:", 0) == 0 || address.find("://") != std::string::npos) return address;
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return address;
  std::string host = address.substr(0, colon);
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  unsigned char buf[16];
  if (::inet_pton(AF_INET, host.c_str(), buf) == 1) return "ipv4:" + address;
  if (bracketed && ::inet_pton(AF_INET6, host.c_str(), buf) == 1) return "ipv6:" + address;
  return address;
}

}  // namespace

Result<std::unique_ptr<ControlClient>> ControlClient::Connect(const std::string& address,
                                                              const ClientCredentials& creds) {
  std::shared_ptr<grpc::ChannelCredentials> channel_creds;
  grpc::ChannelArguments args;
  if (creds.ca_pem.empty()) {
    channel_creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = creds.ca_pem;
    ssl.pem_cert_chain = creds.cert_pem;
    ssl.pem_private_key = creds.key_pem;
    channel_creds = grpc::SslCredentials(ssl);
    if (!creds.server_name.empty()) {
      args.SetSslTargetNameOverride(creds.server_name);
    }
  }
  auto channel = grpc::CreateCustomChannel(Target(address), channel_creds, args);
  if (channel == nullptr) return Error::Invalid("cannot make a channel to " + address);
  return std::make_unique<ControlClient>(std::move(channel), creds.token);
}

ControlClient::ControlClient(std::shared_ptr<grpc::Channel> channel, std::string token)
    : channel_(std::move(channel)),
      stub_(v1::Control::NewStub(channel_)),
      token_(std::move(token)) {}

std::unique_ptr<grpc::ClientContext> ControlClient::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout_);
  if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
  return ctx;
}

Result<v1::Object> ControlClient::Create(const v1::Object& object, bool dry_run) {
  v1::CreateRequest req;
  *req.mutable_object() = object;
  req.set_dry_run(dry_run);
  v1::Object out;
  auto ctx = Context();
  const auto status = stub_->Create(ctx.get(), req, &out);
  if (!status.ok()) return FromGrpcStatus(status);
  return out;
}

Result<v1::Object> ControlClient::Get(const std::string& kind, const std::string& ns,
                                      const std::string& name) {
  v1::GetRequest req;
  req.mutable_key()->set_kind(kind);
  req.mutable_key()->set_namespace_(ns);
  req.mutable_key()->set_name(name);
  v1::Object out;
  auto ctx = Context();
  const auto status = stub_->Get(ctx.get(), req, &out);
  if (!status.ok()) return FromGrpcStatus(status);
  return out;
}

Result<v1::ListResponse> ControlClient::List(const v1::ListRequest& request) {
  v1::ListResponse out;
  auto ctx = Context();
  const auto status = stub_->List(ctx.get(), request, &out);
  if (!status.ok()) return FromGrpcStatus(status);
  return out;
}

Result<v1::Object> ControlClient::Update(const v1::Object& object, bool status_only) {
  v1::UpdateRequest req;
  *req.mutable_object() = object;
  req.set_status(status_only);
  v1::Object out;
  auto ctx = Context();
  const auto status = stub_->Update(ctx.get(), req, &out);
  if (!status.ok()) return FromGrpcStatus(status);
  return out;
}

Result<v1::ApplyResponse> ControlClient::Apply(const std::string& manifest_json,
                                               const std::string& ns, bool dry_run) {
  v1::ApplyRequest req;
  req.set_manifest(manifest_json);
  req.set_namespace_(ns);
  req.set_dry_run(dry_run);
  v1::ApplyResponse out;
  auto ctx = Context();
  const auto status = stub_->Apply(ctx.get(), req, &out);
  if (!status.ok()) return FromGrpcStatus(status);
  return out;
}

Result<v1::Object> ControlClient::Delete(const v1::DeleteRequest& request) {
  v1::Object out;
  auto ctx = Context();
  const auto status = stub_->Delete(ctx.get(), request, &out);
  if (!status.ok()) return FromGrpcStatus(status);
  return out;
}

Result<std::unique_ptr<ControlWatch>> ControlClient::Watch(const v1::WatchRequest& request) {
  auto ctx = std::make_unique<grpc::ClientContext>();  // no deadline: a watch lasts
  if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
  auto reader = stub_->Watch(ctx.get(), request);
  if (reader == nullptr) return Error::Sys(EIO, "watch: no stream");
  return std::make_unique<ControlWatch>(std::move(ctx), std::move(reader));
}

std::unique_ptr<AsyncWatch> ControlClient::WatchAsync(const v1::WatchRequest& request,
                                                      AsyncWatch::EventHandler on_event,
                                                      AsyncWatch::DoneHandler on_done) {
  return std::make_unique<AsyncWatch>(*stub_, request, token_, std::move(on_event),
                                      std::move(on_done));
}

Result<v1::JoinResponse> ControlClient::Join(const std::string& node_name,
                                             const std::string& csr_pem) {
  v1::JoinRequest req;
  req.set_node_name(node_name);
  req.set_csr_pem(csr_pem);
  v1::JoinResponse out;
  auto ctx = Context();
  const auto status = stub_->Join(ctx.get(), req, &out);
  if (!status.ok()) return FromGrpcStatus(status);
  return out;
}

Status ControlClient::ReportUsage(const v1::UsageReport& report) {
  v1::UsageReportResponse out;
  auto ctx = Context();
  const auto status = stub_->ReportUsage(ctx.get(), report, &out);
  if (!status.ok()) return FromGrpcStatus(status);
  return {};
}

Result<v1::MetricsResponse> ControlClient::GetMetrics(const v1::MetricsRequest& request) {
  v1::MetricsResponse out;
  auto ctx = Context();
  const auto status = stub_->GetMetrics(ctx.get(), request, &out);
  if (!status.ok()) return FromGrpcStatus(status);
  return out;
}

}  // namespace berth::api
