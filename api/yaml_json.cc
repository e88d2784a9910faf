// YAML <-> JSON for manifests. libyaml parses (it is fuzzed upstream;
// yaml-cpp 0.7 loops forever on some inputs) and yaml-cpp emits; the scalar rules
// are YAML 1.2's core schema, which is what Kubernetes users expect from
// kubectl: `replicas: 3` is a number, `"3"` a string, `~` and `null` null.
#include <yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "berth/api/codec.h"

namespace berth::api {
namespace {

using json = nlohmann::json;

bool IsDecimal(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool IsFloat(std::string_view s) {
  if (s == ".inf" || s == "-.inf" || s == ".nan") return true;
  bool digit = false;
  bool dot_or_exp = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if ((c == '-' || c == '+') && (i == 0 || s[i - 1] == 'e' || s[i - 1] == 'E')) {
    } else if (c == '.' || c == 'e' || c == 'E') {
      dot_or_exp = true;
    } else {
      return false;
    }
  }
  return digit && dot_or_exp;
}

// A plain scalar resolved by the core schema; nullopt: a string.
std::optional<json> ResolvePlain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return json(nullptr);
  if (s == "true" || s == "True" || s == "TRUE") return json(true);
  if (s == "false" || s == "False" || s == "FALSE") return json(false);
  if (IsDecimal(s)) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && *end == '\0') return json(static_cast<int64_t>(v));
    return json(std::strtod(s.c_str(), nullptr));
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str() + 2, &end, s[1] == 'x' ? 16 : 8);
    if (errno == 0 && *end == '\0') return json(static_cast<int64_t>(v));
  }
  if (IsFloat(s)) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (*end == '\0') return json(v);
  }
  return std::nullopt;
}

// Manifests are text: JSON (and so the API) carries only valid UTF-8.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += len;
  }
  return true;
}

// libyaml's parser and loaded document, owned.
struct Parser {
  yaml_parser_t p;
  Parser() { yaml_parser_initialize(&p); }
  ~Parser() { yaml_parser_delete(&p); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
};

struct Document {
  yaml_document_t d;
  bool loaded = false;
  ~Document() {
    if (loaded) yaml_document_delete(&d);
  }
};

// Aliases can make a small document expand exponentially ("billion
// laughs"); a manifest never needs more than this many nodes or levels.
constexpr size_t kMaxNodes = 200000;
constexpr int kMaxDepth = 100;

class Converter {
 public:
  Converter(yaml_document_t* doc, std::string what) : doc_(doc), what_(std::move(what)) {}

  Result<json> Convert(yaml_node_t* node, const std::string& path, int depth) {
    if (node == nullptr) return json(nullptr);
    if (++nodes_ > kMaxNodes) return Error::Invalid(what_ + ": too many nodes (aliases?)");
    if (depth > kMaxDepth) return Error::Invalid(what_ + ": " + path + ": nested too deeply");
    switch (node->type) {
      case YAML_SCALAR_NODE: {
        std::string s(reinterpret_cast<const char*>(node->data.scalar.value),
                      node->data.scalar.length);
        if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return json(std::move(s));
        auto resolved = ResolvePlain(s);
        return resolved ? *resolved : json(std::move(s));
      }
      case YAML_SEQUENCE_NODE: {
        json out = json::array();
        size_t i = 0;
        for (yaml_node_item_t* it = node->data.sequence.items.start;
             it < node->data.sequence.items.top; ++it) {
          auto v = Convert(yaml_document_get_node(doc_, *it),
                           path + "[" + std::to_string(i++) + "]", depth + 1);
          if (!v.ok()) return v.error();
          out.push_back(std::move(*v));
        }
        return out;
      }
      case YAML_MAPPING_NODE: {
        json out = json::object();
        for (yaml_node_pair_t* pair = node->data.mapping.pairs.start;
             pair < node->data.mapping.pairs.top; ++pair) {
          yaml_node_t* key = yaml_document_get_node(doc_, pair->key);
          if (key == nullptr || key->type != YAML_SCALAR_NODE) {
            return Error::Invalid(what_ + ": " + path + ": a mapping key must be a string");
          }
          const std::string k(reinterpret_cast<const char*>(key->data.scalar.value),
                              key->data.scalar.length);
          std::string sub = path;
          if (!sub.empty()) sub += '.';
          sub += k;
          if (out.contains(k))
            return Error::Invalid(what_ + ": " + sub + ": key \"" + k + "\" appears twice");
          auto v = Convert(yaml_document_get_node(doc_, pair->value), sub, depth + 1);
          if (!v.ok()) return v.error();
          out[k] = std::move(*v);
        }
        return out;
      }
      default:
        return json(nullptr);
    }
  }

 private:
  yaml_document_t* doc_;
  std::string what_;
  size_t nodes_ = 0;
};

void Emit(YAML::Emitter& out, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : v.items()) {
        out << YAML::Key << key << YAML::Value;
        Emit(out, item);
      }
      out << YAML::EndMap;
      return;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) Emit(out, item);
      out << YAML::EndSeq;
      return;
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      // A string that would read back as another type is quoted.
      if (ResolvePlain(s)) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      return;
    }
    case json::value_t::null:
      out << YAML::Null;
      return;
    default:
      out << v.dump();
      return;
  }
}

// YAML 1.2's c-printable (5.1): no C0 control but tab, LF and CR, no DEL,
// valid UTF-8 throughout. Checked before parsing: besides being the
// specification, yaml-cpp 0.7 can loop forever on control characters.
Status CheckPrintable(std::string_view text, const std::string& source) {
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') ++line;
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      char hex[8];
      (void)std::snprintf(hex, sizeof hex, "0x%02x", c);  // fits: 4 characters
      return Error::Invalid(source + ": line " + std::to_string(line) + ": control character " +
                            hex + " is not allowed in YAML");
    }
  }
  if (!ValidUtf8(text)) return Error::Invalid(source + ": not valid UTF-8");
  return {};
}

}  // namespace

Result<std::vector<json>> YamlDocumentsToJson(std::string_view text, std::string_view what) {
  const std::string source(what);
  if (auto st = CheckPrintable(text, source); !st.ok()) return st.error();
  Parser parser;
  yaml_parser_set_input_string(&parser.p, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  std::vector<json> out;
  for (int number = 1;; ++number) {
    Document doc;
    if (!yaml_parser_load(&parser.p, &doc.d)) {
      return Error::Invalid(
          source + ": line " + std::to_string(parser.p.problem_mark.line + 1) + ", column " +
          std::to_string(parser.p.problem_mark.column + 1) + ": " +
          (parser.p.problem != nullptr ? parser.p.problem : "YAML error") +
          (parser.p.context != nullptr ? std::string(" ") + parser.p.context : ""));
    }
    doc.loaded = true;
    yaml_node_t* root = yaml_document_get_root_node(&doc.d);
    if (root == nullptr) break;  // the end of the stream
    Converter converter(&doc.d,
                        number > 1 ? source + ": document " + std::to_string(number) : source);
    auto value = converter.Convert(root, "", 0);
    if (!value.ok()) return value.error();
    out.push_back(std::move(*value));
  }
  return out;
}

std::string JsonToYaml(const json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  Emit(out, value);
  std::string text = out.c_str();
  text += '\n';
  return text;
}

}  // namespace berth::api
