// Kubernetes label and field selectors: the string syntax of `kubectl -l`
// and the API's labelSelector parameter ("app=web,tier!=db,env in
// (prod,staging),!legacy,release notin (a),partition"), the structured form
// of workload specs (matchLabels + matchExpressions), and matching against a
// label set. Label keys and values are checked as Kubernetes checks them
// (an optional DNS-subdomain prefix, names of at most 63 characters).
// Values only; thread-safe. Errors: EINVAL naming the position or field.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"

namespace berth::control {

using Labels = std::map<std::string, std::string>;

struct Requirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kEquals;
  std::vector<std::string> values;  // one for kEquals/kNotEquals, sorted for kIn/kNotIn
  bool Matches(const Labels& labels) const;
};

class LabelSelector {
 public:
  // An empty selector selects everything.
  LabelSelector() = default;
  static Result<LabelSelector> Parse(std::string_view text);
  // matchLabels and matchExpressions (operator In, NotIn, Exists,
  // DoesNotExist); `field` names them in errors ("spec.selector").
  static Result<LabelSelector> FromStructured(
      const Labels& match_labels,
      const std::vector<std::pair<std::string, Requirement>>& match_expressions,
      std::string_view field);

  bool Matches(const Labels& labels) const;
  bool Empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }
  // The canonical string form; Parse(String()) gives the same selector.
  std::string String() const;

 private:
  std::vector<Requirement> requirements_;
};

// Field selectors ("spec.nodeName=node1,status.phase!=Failed") over the
// fields a kind allows; a field outside `allowed` is an error naming it.
struct FieldRequirement {
  std::string field;
  bool equals = true;
  std::string value;
};

Result<std::vector<FieldRequirement>> ParseFieldSelector(std::string_view text,
                                                         const std::vector<std::string>& allowed);

Status ValidateLabelKey(std::string_view key);
Status ValidateLabelValue(std::string_view value);

}  // namespace berth::control
