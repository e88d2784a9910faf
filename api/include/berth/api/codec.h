// Manifests and API objects as text: Kubernetes-style YAML or JSON in, the
// berth.v1.Object envelope out, and back. Decoding is strict the way a
// user wants it: an unknown field, a value of the wrong type, a missing or
// unknown kind or apiVersion is an error naming the source, the document
// and the field path ("web.yaml: document 2: spec.template.spec.
// containers[0].imag: unknown field \"imag\"").
//
// Functions only; thread-safe. Errors: EINVAL with that message.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control.pb.h"

#include "berth/common/error.h"

namespace berth::api {

struct Manifest {
  v1::Object object;
  // The document as JSON exactly as written (no defaults): what `apply`
  // records as the last-applied configuration.
  nlohmann::json json;
  int document = 1;  // 1-based, within its source
};

// One object from a JSON value; `what` names the source in errors.
Result<v1::Object> DecodeObject(const nlohmann::json& value, std::string_view what);
Result<v1::Object> DecodeJson(std::string_view json, std::string_view what);

// Every object in YAML or JSON text: several documents separated by "---",
// a JSON array, or a kind: List with items. Empty documents are skipped.
Result<std::vector<Manifest>> DecodeManifests(std::string_view text, std::string_view what);

// YAML (1.2 core schema: quoted scalars are strings, plain ones may be
// null, bool, integer or float) to JSON, one value per document.
Result<std::vector<nlohmann::json>> YamlDocumentsToJson(std::string_view text,
                                                        std::string_view what);

// The object with apiVersion and kind, in proto3's JSON mapping
// (lowerCamelCase, RFC 3339 timestamps, base64 bytes, zero values omitted).
nlohmann::json ToJson(const v1::Object& object);
std::string EncodeJson(const v1::Object& object, bool pretty = false);
std::string EncodeYaml(const v1::Object& object);
// A JSON value as block-style YAML (what `-o yaml` prints).
std::string JsonToYaml(const nlohmann::json& value);

}  // namespace berth::api
