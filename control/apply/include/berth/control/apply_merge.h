// The three-way merge behind `berth apply`: kubectl's client-side apply,
// expressed as a JSON merge patch (RFC 7386).
//
// Three documents take part:
//   last_applied  what the user applied last time (empty or null on the
//                 first apply); it tells which fields the user owns.
//   desired       what the user applies now.
//   live          the object in the store, with fields others set (status,
//                 defaults, other writers).
// The result keeps every field of live that the user never set, sets what
// the user sets, and removes what the user set before and dropped now.
//
// What each input contributes to the patch, key by key (objects recurse):
//   - desired sets a value that differs from live        -> set it
//   - desired holds null and live has the key            -> remove it
//   - last_applied has the key, desired lacks it, live
//     has it                                             -> remove it
//   - anything else (live-only fields, values already
//     equal, removals of keys live no longer has)        -> not in the patch
// So the patch only holds entries where live must change: an apply that
// changes nothing gives an empty object, and callers report "unchanged"
// from `patch.empty()`. Where live differs from desired on a field the user
// owns (another writer changed it), desired wins, as with kubectl.
//
// Arrays and scalars are replaced whole (merge patch has no list merging):
// a Pod's `containers`, a Service's `ports` are lists, so one changed
// container replaces the whole list, and an entry another writer added to a
// list the user owns is dropped. A null inside an array is a value, not a
// removal. A null in a desired object that live lacks is simply left out.
//
// If the store keeps last_applied inside the object (kubectl's
// last-applied-configuration annotation), put that annotation into desired
// and not into last_applied, so the patch updates it and never removes it.
//
// Pure functions over values; thread-safe; no errors (every pair of JSON
// documents has a merge patch). `desired` is expected to be an object (a
// manifest); if it is not, the patch is `desired` itself, replacing live.
#pragma once

#include <nlohmann/json.hpp>

namespace berth::control {

// The merge patch that turns live into live' (see ApplyThreeWay).
nlohmann::json ThreeWayPatch(const nlohmann::json& last_applied, const nlohmann::json& desired,
                             const nlohmann::json& live);

// Applies a merge patch (RFC 7386 section 2) to `target`: objects merge key
// by key, a null member removes the key, anything else replaces.
nlohmann::json ApplyMergePatch(nlohmann::json target, const nlohmann::json& patch);

// live with the user's changes: ApplyMergePatch(live, ThreeWayPatch(...)).
nlohmann::json ApplyThreeWay(const nlohmann::json& live, const nlohmann::json& last_applied,
                             const nlohmann::json& desired);

}  // namespace berth::control
