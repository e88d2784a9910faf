#include "berth/control/apply_merge.h"

#include <gtest/gtest.h>

namespace berth::control {
namespace {

using nlohmann::json;

json J(const char* text) { return json::parse(text); }

// A Deployment-like object as the store holds it after a first apply, with
// fields the user never set: a default, a label another writer added, status.
json Live() {
  return J(R"({
    "metadata": {"name": "web", "labels": {"app": "web", "tier": "front", "team": "ops"},
                 "uid": "1234"},
    "spec": {"replicas": 2, "revisionHistoryLimit": 10,
             "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
    "status": {"readyReplicas": 2}
  })");
}

json LastApplied() {
  return J(R"({
    "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
    "spec": {"replicas": 2,
             "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}
  })");
}

TEST(ThreeWayTest, DroppedLabelIsRemoved) {
  json desired = LastApplied();
  desired["metadata"]["labels"].erase("tier");
  json patch = ThreeWayPatch(LastApplied(), desired, Live());
  EXPECT_EQ(patch, J(R"({"metadata": {"labels": {"tier": null}}})"));
  json out = ApplyThreeWay(Live(), LastApplied(), desired);
  EXPECT_FALSE(out["metadata"]["labels"].contains("tier"));
  EXPECT_EQ(out["metadata"]["labels"]["team"], "ops");
}

TEST(ThreeWayTest, FieldsOthersSetAreKept) {
  json out = ApplyThreeWay(Live(), LastApplied(), LastApplied());
  EXPECT_EQ(out, Live());
  // "team" was never in last_applied: absent from desired does not remove it.
  json desired = LastApplied();
  desired["metadata"]["labels"]["env"] = "prod";
  out = ApplyThreeWay(Live(), LastApplied(), desired);
  EXPECT_EQ(out["metadata"]["labels"],
            J(R"({"app": "web", "tier": "front", "team": "ops", "env": "prod"})"));
  EXPECT_EQ(out["status"], J(R"({"readyReplicas": 2})"));
  EXPECT_EQ(out["spec"]["revisionHistoryLimit"], 10);
  EXPECT_EQ(out["metadata"]["uid"], "1234");
}

TEST(ThreeWayTest, ChangedScalar) {
  json desired = LastApplied();
  desired["spec"]["replicas"] = 5;
  json patch = ThreeWayPatch(LastApplied(), desired, Live());
  EXPECT_EQ(patch, J(R"({"spec": {"replicas": 5}})"));
  EXPECT_EQ(ApplyThreeWay(Live(), LastApplied(), desired)["spec"]["replicas"], 5);
}

TEST(ThreeWayTest, DesiredWinsOverAnotherWritersChangeToAnOwnedField) {
  json live = Live();
  live["spec"]["replicas"] = 7;  // someone scaled by hand
  json patch = ThreeWayPatch(LastApplied(), LastApplied(), live);
  EXPECT_EQ(patch, J(R"({"spec": {"replicas": 2}})"));
}

TEST(ThreeWayTest, NestedObjectRemoval) {
  json last = LastApplied();
  last["spec"]["strategy"] = J(R"({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})");
  json live = Live();
  live["spec"]["strategy"] =
      J(R"({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})");

  // Dropping one nested key removes only that key.
  json desired = last;
  desired["spec"]["strategy"]["rollingUpdate"].erase("maxSurge");
  EXPECT_EQ(ThreeWayPatch(last, desired, live),
            J(R"({"spec": {"strategy": {"rollingUpdate": {"maxSurge": null}}}})"));
  EXPECT_EQ(ApplyThreeWay(live, last, desired)["spec"]["strategy"],
            J(R"({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}})"));

  // Dropping the whole object removes it, with what others put inside it.
  desired = LastApplied();
  EXPECT_EQ(ThreeWayPatch(last, desired, live), J(R"({"spec": {"strategy": null}})"));
  EXPECT_FALSE(ApplyThreeWay(live, last, desired)["spec"].contains("strategy"));
}

TEST(ThreeWayTest, RemovalOfAKeyLiveNoLongerHasIsNotInThePatch) {
  json live = Live();
  live["metadata"]["labels"].erase("tier");  // someone removed it already
  json desired = LastApplied();
  desired["metadata"]["labels"].erase("tier");
  EXPECT_TRUE(ThreeWayPatch(LastApplied(), desired, live).empty());
}

TEST(ThreeWayTest, ArrayIsReplacedWhole) {
  json live = Live();
  // Another writer injected a sidecar into the list the user owns.
  live["spec"]["template"]["spec"]["containers"].push_back(J(R"({"name": "proxy"})"));
  json desired = LastApplied();
  desired["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27";
  json patch = ThreeWayPatch(LastApplied(), desired, live);
  EXPECT_EQ(patch, J(R"({"spec": {"template": {"spec": {"containers":
                        [{"name": "web", "image": "nginx:1.27"}]}}}})"));
  EXPECT_EQ(ApplyThreeWay(live, LastApplied(), desired)["spec"]["template"]["spec"]["containers"],
            J(R"([{"name": "web", "image": "nginx:1.27"}])"));
}

TEST(ThreeWayTest, UnchangedApplyGivesEmptyPatch) {
  json patch = ThreeWayPatch(LastApplied(), LastApplied(), Live());
  EXPECT_TRUE(patch.empty());
  EXPECT_TRUE(patch.is_object());
  // And applying it leaves live as it was.
  EXPECT_EQ(ApplyMergePatch(Live(), patch), Live());
}

TEST(ThreeWayTest, ReapplyAfterApplyIsUnchanged) {
  json desired = LastApplied();
  desired["metadata"]["labels"].erase("tier");
  desired["spec"]["replicas"] = 3;
  desired["spec"]["paused"] = false;
  json live = ApplyThreeWay(Live(), LastApplied(), desired);
  EXPECT_TRUE(ThreeWayPatch(desired, desired, live).empty());
}

TEST(ThreeWayTest, FirstApply) {
  json desired = LastApplied();
  // Nothing in the store yet.
  for (const json& last : {json(), json::object()}) {
    for (const json& live : {json(), json::object()}) {
      EXPECT_EQ(ThreeWayPatch(last, desired, live), desired);
      EXPECT_EQ(ApplyThreeWay(live, last, desired), desired);
    }
  }
  // The object exists (created by someone else), nothing applied before:
  // nothing is removed.
  json live = Live();
  live["spec"]["replicas"] = 1;
  json out = ApplyThreeWay(live, json::object(), desired);
  EXPECT_EQ(out["spec"]["replicas"], 2);
  EXPECT_EQ(out["metadata"]["labels"]["team"], "ops");
  EXPECT_EQ(out["status"], Live()["status"]);
}

TEST(ThreeWayTest, DesiredNullRemoves) {
  json desired = LastApplied();
  desired["metadata"]["labels"]["team"] = nullptr;  // owned by others, removed explicitly
  desired["spec"]["replicas"] = nullptr;
  desired["spec"]["notThere"] = nullptr;
  json patch = ThreeWayPatch(LastApplied(), desired, Live());
  EXPECT_EQ(patch, J(R"({"metadata": {"labels": {"team": null}}, "spec": {"replicas": null}})"));
  json out = ApplyThreeWay(Live(), LastApplied(), desired);
  EXPECT_FALSE(out["metadata"]["labels"].contains("team"));
  EXPECT_FALSE(out["spec"].contains("replicas"));
  EXPECT_FALSE(out["spec"].contains("notThere"));
}

TEST(ThreeWayTest, NullsInsideANewObjectAreLeftOut) {
  json desired = LastApplied();
  desired["spec"]["strategy"] = J(R"({"type": "Recreate", "rollingUpdate": null})");
  json patch = ThreeWayPatch(LastApplied(), desired, Live());
  EXPECT_EQ(patch, J(R"({"spec": {"strategy": {"type": "Recreate"}}})"));
  // Nulls in arrays are values.
  desired = LastApplied();
  desired["spec"]["list"] = J("[1, null]");
  EXPECT_EQ(ThreeWayPatch(LastApplied(), desired, Live()), J(R"({"spec": {"list": [1, null]}})"));
}

TEST(ThreeWayTest, TypeChanges) {
  json live = J(R"({"a": "scalar", "b": {"x": 1}, "c": [1]})");
  json last = J(R"({"a": "scalar", "b": {"x": 1}, "c": [1]})");
  json desired = J(R"({"a": {"y": 1, "z": null}, "b": [2], "c": {"x": 1}})");
  json patch = ThreeWayPatch(last, desired, live);
  EXPECT_EQ(patch, J(R"({"a": {"y": 1}, "b": [2], "c": {"x": 1}})"));
  EXPECT_EQ(ApplyMergePatch(live, patch), J(R"({"a": {"y": 1}, "b": [2], "c": {"x": 1}})"));
}

TEST(ThreeWayTest, NonObjectDesiredReplaces) {
  EXPECT_EQ(ThreeWayPatch(json::object(), J("[1]"), J(R"({"a": 1})")), J("[1]"));
  EXPECT_TRUE(ThreeWayPatch(json::object(), J("[1]"), J("[1]")).empty());
}

// RFC 7386 appendix A, every row: target, patch, result.
TEST(MergePatchTest, Rfc7386AppendixA) {
  struct Case {
    const char* target;
    const char* patch;
    const char* result;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.target) + " + " + c.patch);
    EXPECT_EQ(ApplyMergePatch(J(c.target), J(c.patch)), J(c.result));
  }
}

// RFC 7386 section 3's example.
TEST(MergePatchTest, Rfc7386Example) {
  json target = J(R"({
    "title": "Goodbye!",
    "author": {"givenName": "John", "familyName": "Doe"},
    "tags": ["example", "sample"],
    "content": "This will be unchanged"
  })");
  json patch = J(R"({
    "title": "Hello!",
    "phoneNumber": "+01-123-456-7890",
    "author": {"familyName": null},
    "tags": ["example"]
  })");
  EXPECT_EQ(ApplyMergePatch(target, patch), J(R"({
    "title": "Hello!",
    "author": {"givenName": "John"},
    "tags": ["example"],
    "content": "This will be unchanged",
    "phoneNumber": "+01-123-456-7890"
  })"));
}

}  // namespace
}  // namespace berth::control
