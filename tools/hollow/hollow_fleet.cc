#include "hollow_fleet.h"

#include <google/protobuf/util/time_util.h>

#include "berth/common/log.h"

namespace berth::hollow {
namespace {

using google::protobuf::util::TimeUtil;

void SetCondition(v1::PodStatus* status, const std::string& type) {
  auto* c = status->add_conditions();
  c->set_type(type);
  c->set_status("True");
  *c->mutable_last_transition_time() = TimeUtil::GetCurrentTime();
}

}  // namespace

HollowFleet::HollowFleet(HollowOptions options, std::function<api::ControlClient&(int)> client_for)
    : options_(std::move(options)), client_for_(std::move(client_for)) {}

HollowFleet::~HollowFleet() { Stop(); }

std::vector<std::string> HollowFleet::NodeNames() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) out.push_back(n->session->name());
  return out;
}

size_t HollowFleet::RunningPods() const {
  std::lock_guard lock(mu_);
  return running_.size();
}

Status HollowFleet::Start() {
  for (int i = 0; i < options_.nodes; ++i) {
    nodeagent::NodeIdentity id;
    id.name = options_.prefix + std::to_string(i);
    id.labels = options_.labels;
    id.labels["berth.dev/hollow"] = "true";
    for (auto* r : {&id.capacity, &id.allocatable}) {
      r->set_cpu_milli(options_.cpu_milli);
      r->set_memory_bytes(options_.memory_bytes);
      r->set_pods(options_.pods);
    }
    v1::NodeAddress addr;
    addr.set_type("InternalIP");
    addr.set_address("10.255." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
    id.addresses.push_back(addr);
    auto node = std::make_unique<Node>();
    node->index = i;
    node->session = std::make_unique<nodeagent::NodeSession>(client_for_(i), std::move(id));
    if (auto st = node->session->Register(); !st.ok()) return st;
    if (auto st = node->session->RenewLease(); !st.ok()) return st;
    nodes_.push_back(std::move(node));
  }
  stop_ = false;
  for (auto& node : nodes_) Watch(*node);
  for (int w = 0; w < std::max(1, options_.workers); ++w) {
    reporters_.emplace_back([this] { ReportLoop(); });
    leasers_.emplace_back([this, w] { LeaseLoop(w); });
  }
  return {};
}

void HollowFleet::Stop() {
  if (stop_.exchange(true)) return;
  cv_.notify_all();
  for (auto& n : nodes_) {
    std::lock_guard lock(n->watch_mu);
    n->watch.reset();  // cancels and waits for its end
  }
  for (auto* pool : {&reporters_, &leasers_}) {
    for (auto& t : *pool) {
      if (t.joinable()) t.join();
    }
    pool->clear();
  }
}

void HollowFleet::Freeze(const std::string& node) {
  for (auto& n : nodes_) {
    if (n->session->name() == node) n->frozen = true;
  }
}

void HollowFleet::Watch(Node& node) {
  auto watch = node.session->WatchPods(
      node.revision,
      [this, &node](const v1::WatchEvent& e) {
        node.backoff = std::chrono::milliseconds(200);
        node.revision = e.resource_version();
        if (e.type() != "BOOKMARK") OnPodEvent(node.index, e);
      },
      [this, &node](const Status& st) { OnWatchDone(node, st); });
  std::lock_guard lock(node.watch_mu);
  node.watch = std::move(watch);  // the ended one, if any, is done already
}

void HollowFleet::OnWatchDone(Node& node, const Status& status) {
  if (stop_) return;
  if (!status.ok()) {
    if (status.error().err() == EACCES) {
      log::Warn("hollow node stopped following pods",
                {{"node", node.session->name()}, {"error", status.error().ToString()}});
      return;
    }
    if (status.error().err() == ERANGE) node.revision.clear();  // too old: list again
  }
  log::Warn("pod watch ended; resuming",
            {{"node", node.session->name()},
             {"error", status.ok() ? "stream closed" : status.error().ToString()}});
  // A lease worker starts the next one (not this gRPC callback thread).
  const auto delay = node.backoff;
  node.backoff = std::min(node.backoff * 2, std::chrono::milliseconds(5000));
  node.rewatch_at = (std::chrono::steady_clock::now() + delay).time_since_epoch().count();
}

void HollowFleet::OnPodEvent(int index, const v1::WatchEvent& event) {
  Node& node = *nodes_[index];
  if (node.frozen) return;
  const v1::Pod& pod = event.object().pod();
  const std::string& uid = pod.metadata().uid();
  std::lock_guard lock(mu_);
  if (event.type() == "DELETED") {
    running_.erase(uid);
    pending_.erase(uid);
    return;
  }
  if (pod.metadata().has_deletion_timestamp()) {
    // The containers stop (after stop_delay): finish the deletion.
    reports_.push({std::chrono::steady_clock::now() + options_.stop_delay, index, pod, true});
    cv_.notify_one();
    return;
  }
  if (pod.status().phase() == "Running" || pending_.count(uid) > 0 || running_.count(uid) > 0) {
    return;
  }
  v1::Pod running = pod;
  auto* status = running.mutable_status();
  status->set_phase("Running");
  status->set_host_ip("10.255." + std::to_string(index / 250) + "." +
                      std::to_string(index % 250 + 1));
  const uint32_t ip = node.next_ip++;
  status->set_pod_ip("10." + std::to_string(index % 250) + "." + std::to_string((ip >> 8) & 0xff) +
                     "." + std::to_string(ip & 0xff));
  status->clear_pod_ips();
  status->add_pod_ips()->set_ip(status->pod_ip());
  *status->mutable_start_time() = TimeUtil::GetCurrentTime();
  // Keep PodScheduled; the kubelet's conditions follow.
  for (const char* type : {"Initialized", "ContainersReady", "Ready"}) SetCondition(status, type);
  status->clear_container_statuses();
  for (const auto& c : pod.spec().containers()) {
    auto* cs = status->add_container_statuses();
    cs->set_name(c.name());
    cs->set_image(c.image());
    cs->set_ready(true);
    cs->set_started(true);
    *cs->mutable_state()->mutable_running()->mutable_started_at() = TimeUtil::GetCurrentTime();
  }
  pending_.insert(uid);
  reports_.push(
      {std::chrono::steady_clock::now() + options_.ready_delay, index, std::move(running), false});
  cv_.notify_one();
}

void HollowFleet::ReportLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (reports_.empty()) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    const auto due = reports_.top().due;
    if (due > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, due);
      continue;
    }
    Report report = reports_.top();
    reports_.pop();
    lock.unlock();
    Apply(report);
    lock.lock();
  }
}

void HollowFleet::Apply(const Report& report) {
  Node& node = *nodes_[report.node];
  if (node.frozen) return;
  const std::string& uid = report.pod.metadata().uid();
  // Like a kubelet, a hollow node retries what the control plane did not
  // take (it may be restarting).
  auto retry = [this](const Error& error, Report again) {
    // Only a control plane that is away (UNAVAILABLE, deadline) is worth
    // another try; a refusal stays a refusal.
    if (error.err() != EAGAIN && error.err() != ETIMEDOUT) return;
    again.due = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    std::lock_guard lock(mu_);
    reports_.push(std::move(again));
    cv_.notify_one();
  };
  if (report.finish_deletion) {
    if (auto st = node.session->FinishDeletion(report.pod); !st.ok()) {
      log::Warn("hollow: finish deletion",
                {{"pod", report.pod.metadata().name()}, {"error", st.error().ToString()}});
      retry(st.error(), report);
    }
    return;
  }
  // Status writes carry no resourceVersion: a hollow node owns its pods'
  // status, as a kubelet does.
  v1::Pod pod = report.pod;
  pod.mutable_metadata()->clear_resource_version();
  auto st = node.session->UpdatePodStatus(pod);
  if (!st.ok() && st.error().err() != ENOENT) {
    log::Warn("hollow: report pod status",
              {{"pod", pod.metadata().name()}, {"error", st.error().ToString()}});
    if (st.error().err() == EAGAIN || st.error().err() == ETIMEDOUT) {
      retry(st.error(), report);  // still pending
      return;
    }
  }
  std::lock_guard lock(mu_);
  pending_.erase(uid);
  if (st.ok()) running_.insert(uid);
}

void HollowFleet::LeaseLoop(int worker) {
  const size_t stride = static_cast<size_t>(std::max(1, options_.workers));
  auto next = std::chrono::steady_clock::now() + options_.lease_period;
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (size_t i = static_cast<size_t>(worker); i < nodes_.size() && !stop_; i += stride) {
      Node& n = *nodes_[i];
      const int64_t due = n.rewatch_at;
      if (due >= 0 && now >= due) {
        n.rewatch_at = -1;
        Watch(n);
      }
    }
    if (std::chrono::steady_clock::now() < next) continue;
    for (size_t i = static_cast<size_t>(worker); i < nodes_.size(); i += stride) {
      auto& n = nodes_[i];
      if (n->frozen || stop_) continue;
      if (auto st = n->session->RenewLease(); !st.ok()) {
        log::Warn("hollow: renew lease",
                  {{"node", n->session->name()}, {"error", st.error().ToString()}});
      }
    }
    next = std::chrono::steady_clock::now() + options_.lease_period;
  }
}

}  // namespace berth::hollow
