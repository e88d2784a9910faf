// Schedule: filter, score and pick one node for one pod, or explain why none.
#include <algorithm>
#include <utility>

#include "berth/control/scheduler/scheduler.h"

namespace berth::control::scheduler {

std::string FailureMessage(size_t total_nodes, const std::vector<std::string>& reasons) {
  // Few distinct reasons exist, so a linear scan beats a map here.
  std::vector<std::pair<std::string_view, size_t>> counts;
  for (const std::string& r : reasons) {
    auto it =
        std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == r; });
    if (it == counts.end()) {
      counts.emplace_back(r, 1);
    } else {
      ++it->second;
    }
  }
  std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  std::string msg = "0/" + std::to_string(total_nodes) + " nodes are available";
  for (size_t i = 0; i < counts.size(); ++i) {
    msg += i == 0 ? ": " : ", ";
    msg += std::to_string(counts[i].second);
    msg += ' ';
    msg += counts[i].first;
  }
  msg += '.';
  return msg;
}

size_t FeasibleNodesToFind(size_t nodes) {
  if (nodes <= 100) return nodes;
  const int64_t pct = std::max<int64_t>(5, 50 - static_cast<int64_t>(nodes) / 125);
  return std::max<size_t>(100, nodes * static_cast<size_t>(pct) / 100);
}

Decision Schedule(const PodInfo& pod, const std::vector<NodeInfo>& nodes, ScorePolicy policy) {
  size_t next = 0;
  return Schedule(pod, nodes, policy, Sampling{}, &next);
}

Decision Schedule(const PodInfo& pod, const std::vector<NodeInfo>& nodes, ScorePolicy policy,
                  const Sampling& sampling, size_t* next_start) {
  std::vector<const NodeInfo*> feasible;
  std::vector<std::string> reasons;
  const size_t n = nodes.size();
  const size_t want = sampling.feasible_to_find == 0 ? n : sampling.feasible_to_find;
  size_t processed = 0;
  for (; processed < n && feasible.size() < want; ++processed) {
    const NodeInfo& node = nodes[(sampling.start + processed) % n];
    if (std::optional<std::string> reason = RunFilters(pod, node)) {
      reasons.push_back(std::move(*reason));
    } else {
      feasible.push_back(&node);
    }
  }
  *next_start = n == 0 ? 0 : (sampling.start + processed) % n;

  Decision decision;
  if (!feasible.empty()) {
    const std::vector<int64_t> scores = ScoreNodes(pod, feasible, policy);
    size_t best = 0;
    for (size_t i = 1; i < feasible.size(); ++i) {
      if (scores[i] > scores[best] ||
          (scores[i] == scores[best] && feasible[i]->name < feasible[best]->name)) {
        best = i;
      }
    }
    decision.node = feasible[best]->name;
    return decision;
  }

  decision.message = FailureMessage(nodes.size(), reasons);
  if (std::optional<Preemption> p = FindPreemption(pod, nodes)) {
    decision.node = p->node->name;
    decision.victims = std::move(p->victims);
  }
  return decision;
}

}  // namespace berth::control::scheduler
