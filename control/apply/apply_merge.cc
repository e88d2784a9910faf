#include "berth/control/apply_merge.h"

#include <utility>

namespace berth::control {
namespace {

using nlohmann::json;

// A desired value as it should end up in live. Nulls inside objects mean
// "absent"; dropping them keeps the patch free of removals of keys that do
// not exist (merge patch would drop them anyway, RFC 7386 section 2).
json WithoutNulls(const json& value) {
  if (!value.is_object()) return value;
  json out = json::object();
  for (const auto& [key, member] : value.items()) {
    if (!member.is_null()) out[key] = WithoutNulls(member);
  }
  return out;
}

// The three-way diff of objects; `last` and `live` may be any value (a
// non-object has no keys the user owned or that live holds).
json ObjectPatch(const json& last, const json& desired, const json& live) {
  json patch = json::object();
  const bool live_is_object = live.is_object();
  auto live_member = [&](const std::string& key) -> const json* {
    if (!live_is_object) return nullptr;
    auto it = live.find(key);
    return it == live.end() ? nullptr : &*it;
  };

  for (const auto& [key, want] : desired.items()) {
    const json* have = live_member(key);
    if (want.is_null()) {
      if (have != nullptr) patch[key] = nullptr;
      continue;
    }
    if (have == nullptr) {
      patch[key] = WithoutNulls(want);
      continue;
    }
    if (want.is_object() && have->is_object()) {
      static const json kNoKeys = json::object();
      auto last_it = last.is_object() ? last.find(key) : last.end();
      const json& last_member = last.is_object() && last_it != last.end() ? *last_it : kNoKeys;
      json sub = ObjectPatch(last_member, want, *have);
      if (!sub.empty()) patch[key] = std::move(sub);
      continue;
    }
    // Arrays, scalars, and a change of type: replaced whole. An object over
    // a non-object: merge patch turns the target into {} first, so the
    // whole desired object is the patch.
    if (want != *have) patch[key] = WithoutNulls(want);
  }

  if (last.is_object()) {
    for (auto it = last.begin(); it != last.end(); ++it) {
      if (!desired.contains(it.key()) && live_member(it.key()) != nullptr) {
        patch[it.key()] = nullptr;
      }
    }
  }
  return patch;
}

}  // namespace

json ThreeWayPatch(const json& last_applied, const json& desired, const json& live) {
  if (!desired.is_object()) return desired == live ? json::object() : desired;
  return ObjectPatch(last_applied, desired, live);
}

json ApplyMergePatch(json target, const json& patch) {
  // nlohmann's merge_patch is RFC 7386's MergePatch pseudocode.
  target.merge_patch(patch);
  return target;
}

json ApplyThreeWay(const json& live, const json& last_applied, const json& desired) {
  return ApplyMergePatch(live, ThreeWayPatch(last_applied, desired, live));
}

}  // namespace berth::control
