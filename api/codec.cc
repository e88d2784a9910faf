#include "berth/api/codec.h"

#include <google/protobuf/util/json_util.h>

#include "berth/api/kinds.h"

namespace berth::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using json = nlohmann::json;

std::string Join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

// By JSON name only (protobuf's parser also takes proto names, which
// Kubernetes manifests never use). Descriptors have few fields: a scan.
const FieldDescriptor* FieldByJsonName(const Descriptor* desc, const std::string& name) {
  for (int i = 0; i < desc->field_count(); ++i) {
    if (desc->field(i)->json_name() == name) return desc->field(i);
  }
  return nullptr;
}

std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "a list";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::null:
      return "null";
    default:
      return "an integer";
  }
}

// Checks `value` against `desc` before protobuf's own JSON parser sees it:
// that parser's errors name neither the path nor the document, and it
// accepts proto field names beside JSON names. Returns the first problem.
class SchemaCheck {
 public:
  explicit SchemaCheck(std::string what) : what_(std::move(what)) {}

  Status Message(const json& value, const Descriptor* desc, const std::string& path) const {
    const std::string full = desc->full_name();
    if (full == "google.protobuf.Value") return {};  // IntOrString: checked by validation
    if (full == "google.protobuf.Timestamp") {
      if (!value.is_string())
        return Fail(path, "expected an RFC 3339 time, got " + TypeName(value));
      return {};
    }
    if (!value.is_object()) return Fail(path, "expected an object, got " + TypeName(value));
    for (const auto& [key, item] : value.items()) {
      const FieldDescriptor* field = FieldByJsonName(desc, key);
      if (field == nullptr) return Fail(Join(path, key), "unknown field \"" + key + "\"");
      if (item.is_null()) continue;  // explicit null: the field's zero value
      if (auto st = Field(item, field, Join(path, key)); !st.ok()) return st;
    }
    return {};
  }

 private:
  Error Fail(const std::string& path, const std::string& msg) const {
    return Error::Invalid(what_ + ": " + (path.empty() ? "" : path + ": ") + msg);
  }

  Status Field(const json& value, const FieldDescriptor* field, const std::string& path) const {
    if (field->is_map()) {
      if (!value.is_object()) return Fail(path, "expected an object, got " + TypeName(value));
      const FieldDescriptor* val = field->message_type()->FindFieldByName("value");
      for (const auto& [key, item] : value.items()) {
        std::string sub = path;
        sub.append("[").append(key).append("]");
        if (auto st = Single(item, val, sub); !st.ok()) return st;
      }
      return {};
    }
    if (field->is_repeated()) {
      if (!value.is_array()) return Fail(path, "expected a list, got " + TypeName(value));
      for (size_t i = 0; i < value.size(); ++i) {
        if (auto st = Single(value[i], field, path + "[" + std::to_string(i) + "]"); !st.ok()) {
          return st;
        }
      }
      return {};
    }
    return Single(value, field, path);
  }

  Status Single(const json& value, const FieldDescriptor* field, const std::string& path) const {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return Message(value, field->message_type(), path);
      case FieldDescriptor::CPPTYPE_STRING:
        if (!value.is_string()) return Fail(path, "expected a string, got " + TypeName(value));
        return {};
      case FieldDescriptor::CPPTYPE_BOOL:
        if (!value.is_boolean()) return Fail(path, "expected a boolean, got " + TypeName(value));
        return {};
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        if (value.is_number_integer()) return {};
        // Protobuf's JSON mapping writes 64-bit integers as strings.
        if (value.is_string() && (field->cpp_type() == FieldDescriptor::CPPTYPE_INT64 ||
                                  field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64)) {
          return {};
        }
        return Fail(path, "expected an integer, got " + TypeName(value));
      default:
        if (!value.is_number()) return Fail(path, "expected a number, got " + TypeName(value));
        return {};
    }
  }

  std::string what_;
};

std::string DocumentName(std::string_view what, int document, int documents) {
  std::string out(what);
  if (documents > 1) out += ": document " + std::to_string(document);
  return out;
}

}  // namespace

Result<v1::Object> DecodeObject(const json& value, std::string_view what) {
  const std::string source(what);
  if (!value.is_object()) {
    return Error::Invalid(source + ": expected an object, got " + TypeName(value));
  }
  const auto kind_it = value.find("kind");
  const auto version_it = value.find("apiVersion");
  if (kind_it == value.end() || !kind_it->is_string() || kind_it->get<std::string>().empty()) {
    return Error::Invalid(source + ": kind: Required value");
  }
  if (version_it == value.end() || !version_it->is_string()) {
    return Error::Invalid(source + ": apiVersion: Required value");
  }
  const std::string kind_name = kind_it->get<std::string>();
  const std::string version = version_it->get<std::string>();
  const KindInfo* kind = FindKind(kind_name);
  if (kind == nullptr || kind->kind != kind_name) {
    return Error::Invalid(source + ": no matches for kind \"" + kind_name + "\" in version \"" +
                          version + "\"");
  }
  if (version != kind->api_version) {
    return Error::Invalid(source + ": no matches for kind \"" + kind_name + "\" in version \"" +
                          version + "\" (Berth serves it as " + std::string(kind->api_version) +
                          ")");
  }
  v1::Object object;
  auto& payload = SetKind(object, *kind);
  if (auto st = SchemaCheck(source).Message(value, payload.GetDescriptor(), ""); !st.ok()) {
    return st.error();
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(value.dump(), &payload, options);
  if (!status.ok()) {
    return Error::Invalid(source + ": " + std::string(status.message()));
  }
  return object;
}

Result<v1::Object> DecodeJson(std::string_view text, std::string_view what) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Error::Invalid(std::string(what) + ": not valid JSON");
  return DecodeObject(value, what);
}

Result<std::vector<Manifest>> DecodeManifests(std::string_view text, std::string_view what) {
  // JSON is read as JSON (as kubectl does): strict, and fast on any input.
  const size_t first = text.find_first_not_of(" \t\r\n");
  Result<std::vector<json>> docs = std::vector<json>{};
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return Error::Invalid(std::string(what) + ": not valid JSON");
    docs->push_back(std::move(value));
  } else {
    docs = YamlDocumentsToJson(text, what);
  }
  if (!docs.ok()) return docs.error();
  // Flatten JSON arrays and kind: List into items, remembering the document.
  std::vector<std::pair<json, int>> values;
  int number = 0;
  for (auto& doc : *docs) {
    ++number;
    if (doc.is_null()) continue;
    if (doc.is_array()) {
      for (auto& item : doc) values.emplace_back(std::move(item), number);
    } else if (doc.is_object() && doc.contains("kind") && doc["kind"] == "List") {
      if (!doc.contains("items") || !doc["items"].is_array()) {
        return Error::Invalid(DocumentName(what, number, 2) + ": items: expected a list");
      }
      for (auto& item : doc["items"]) values.emplace_back(std::move(item), number);
    } else {
      values.emplace_back(std::move(doc), number);
    }
  }
  std::vector<Manifest> out;
  out.reserve(values.size());
  for (auto& [value, doc] : values) {
    auto object = DecodeObject(value, DocumentName(what, doc, number));
    if (!object.ok()) return object.error();
    out.push_back(Manifest{std::move(*object), std::move(value), doc});
  }
  return out;
}

json ToJson(const v1::Object& object) {
  v1::Object typed = object;
  SetTypeFields(typed);
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  // Always succeeds for a well-formed message; an empty object otherwise.
  if (!google::protobuf::util::MessageToJsonString(Payload(typed), &text, options).ok()) {
    return json::object();
  }
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) return json::object();
  // Kubernetes puts apiVersion and kind first; nlohmann orders keys anyway.
  return value;
}

std::string EncodeJson(const v1::Object& object, bool pretty) {
  return ToJson(object).dump(pretty ? 4 : -1);
}

std::string EncodeYaml(const v1::Object& object) { return JsonToYaml(ToJson(object)); }

}  // namespace berth::api
