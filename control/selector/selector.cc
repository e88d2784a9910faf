#include "berth/control/selector.h"

#include <algorithm>
#include <cctype>

namespace berth::control {
namespace {

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// A "qualified name" part: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, <= 63.
bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// RFC 1123 subdomain: lower-case labels of [a-z0-9-] joined by dots, <= 253.
bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!(std::islower(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
        return false;
      }
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  void SkipSpace() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }
  bool Consume(std::string_view token) {
    SkipSpace();
    if (s_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  // Letters, digits and -_./ : the characters keys and values are made of.
  std::string Word() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < s_.size() && (IsAlnum(s_[pos_]) || std::string_view("-_./").find(s_[pos_]) !=
                                                         std::string_view::npos)) {
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }
  size_t pos() const { return pos_; }
  Error Fail(const std::string& what) const {
    return Error::Invalid("label selector \"" + std::string(s_) + "\" at " + std::to_string(pos_) +
                          ": " + what);
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

Result<std::vector<std::string>> ValueSet(Lexer& lx) {
  if (!lx.Consume("(")) return lx.Fail("expected '(' after in/notin");
  std::vector<std::string> values;
  for (;;) {
    std::string v = lx.Word();
    BERTH_TRY(ValidateLabelValue(v).Wrap(lx.Fail("value").message()));
    values.push_back(std::move(v));
    if (lx.Consume(")")) break;
    if (!lx.Consume(",")) return lx.Fail("expected ',' or ')' in a value set");
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

Result<Requirement> ParseRequirement(Lexer& lx) {
  Requirement r;
  if (lx.Consume("!")) {
    r.key = lx.Word();
    BERTH_TRY(ValidateLabelKey(r.key).Wrap(lx.Fail("key").message()));
    r.op = Requirement::Op::kDoesNotExist;
    return r;
  }
  r.key = lx.Word();
  if (r.key.empty()) return lx.Fail("expected a label key");
  BERTH_TRY(ValidateLabelKey(r.key).Wrap(lx.Fail("key").message()));
  if (lx.Consume("!=")) {
    r.op = Requirement::Op::kNotEquals;
  } else if (lx.Consume("==") || lx.Consume("=")) {
    r.op = Requirement::Op::kEquals;
  } else {
    const std::string word = lx.Word();
    if (word.empty()) {  // a bare key: it must exist
      r.op = Requirement::Op::kExists;
      return r;
    }
    if (word != "in" && word != "notin") {
      return lx.Fail("unknown operator \"" + word + "\" (=, ==, !=, in, notin)");
    }
    r.op = word == "in" ? Requirement::Op::kIn : Requirement::Op::kNotIn;
    BERTH_ASSIGN_OR_RETURN(r.values, ValueSet(lx));
    return r;
  }
  std::string value = lx.Word();
  BERTH_TRY(ValidateLabelValue(value).Wrap(lx.Fail("value").message()));
  r.values = {value};
  return r;
}

const char* OpText(Requirement::Op op) {
  switch (op) {
    case Requirement::Op::kEquals:
      return "=";
    case Requirement::Op::kNotEquals:
      return "!=";
    case Requirement::Op::kIn:
      return " in ";
    case Requirement::Op::kNotIn:
      return " notin ";
    default:
      return "";
  }
}

}  // namespace

Status ValidateLabelKey(std::string_view key) {
  const size_t slash = key.find('/');
  std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  if (slash != std::string_view::npos && !IsDnsSubdomain(key.substr(0, slash))) {
    return Error::Invalid("label key \"" + std::string(key) +
                          "\": the prefix must be a DNS subdomain (lower case, at most 253)");
  }
  if (!IsName(name)) {
    return Error::Invalid("label key \"" + std::string(key) +
                          "\": a name of at most 63 characters [A-Za-z0-9-_.], starting and ending "
                          "alphanumeric");
  }
  return Ok();
}

Status ValidateLabelValue(std::string_view value) {
  if (value.empty() || IsName(value)) return Ok();
  return Error::Invalid("label value \"" + std::string(value) +
                        "\": at most 63 characters [A-Za-z0-9-_.], starting and ending "
                        "alphanumeric, or empty");
}

bool Requirement::Matches(const Labels& labels) const {
  auto it = labels.find(key);
  const bool has = it != labels.end();
  switch (op) {
    case Op::kEquals:
      return has && it->second == values[0];
    case Op::kNotEquals:
      return !has || it->second != values[0];
    case Op::kIn:
      return has && std::binary_search(values.begin(), values.end(), it->second);
    case Op::kNotIn:
      return !has || !std::binary_search(values.begin(), values.end(), it->second);
    case Op::kExists:
      return has;
    case Op::kDoesNotExist:
      return !has;
  }
  return false;
}

Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  LabelSelector s;
  Lexer lx(text);
  if (lx.AtEnd()) return s;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(Requirement r, ParseRequirement(lx));
    s.requirements_.push_back(std::move(r));
    if (lx.AtEnd()) break;
    if (!lx.Consume(",")) return lx.Fail("expected ',' between requirements");
  }
  return s;
}

Result<LabelSelector> LabelSelector::FromStructured(
    const Labels& match_labels,
    const std::vector<std::pair<std::string, Requirement>>& match_expressions,
    std::string_view field) {
  LabelSelector s;
  const std::string f(field);
  for (const auto& [k, v] : match_labels) {
    BERTH_TRY(ValidateLabelKey(k).Wrap(f + ".matchLabels"));
    BERTH_TRY(ValidateLabelValue(v).Wrap(std::string(f).append(".matchLabels.").append(k)));
    s.requirements_.push_back({k, Requirement::Op::kEquals, {v}});
  }
  for (size_t i = 0; i < match_expressions.size(); ++i) {
    const std::string p = f + ".matchExpressions[" + std::to_string(i) + "]";
    Requirement r = match_expressions[i].second;
    r.key = match_expressions[i].first;
    BERTH_TRY(ValidateLabelKey(r.key).Wrap(p + ".key"));
    const bool set = r.op == Requirement::Op::kIn || r.op == Requirement::Op::kNotIn;
    const bool exists = r.op == Requirement::Op::kExists || r.op == Requirement::Op::kDoesNotExist;
    if (!set && !exists)
      return Error::Invalid(p + ".operator: must be In, NotIn, Exists or DoesNotExist");
    if (set && r.values.empty())
      return Error::Invalid(p + ".values: must be non-empty for In and NotIn");
    if (exists && !r.values.empty()) {
      return Error::Invalid(p + ".values: must be empty for Exists and DoesNotExist");
    }
    for (const auto& v : r.values) BERTH_TRY(ValidateLabelValue(v).Wrap(p + ".values"));
    std::sort(r.values.begin(), r.values.end());
    s.requirements_.push_back(std::move(r));
  }
  return s;
}

bool LabelSelector::Matches(const Labels& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const Requirement& r) { return r.Matches(labels); });
}

std::string LabelSelector::String() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ",";
    if (r.op == Requirement::Op::kDoesNotExist) out += "!";
    out += r.key;
    out += OpText(r.op);
    if (r.op == Requirement::Op::kIn || r.op == Requirement::Op::kNotIn) {
      out += "(";
      for (size_t i = 0; i < r.values.size(); ++i) out += (i ? "," : "") + r.values[i];
      out += ")";
    } else if (r.op == Requirement::Op::kEquals || r.op == Requirement::Op::kNotEquals) {
      out += r.values[0];
    }
  }
  return out;
}

Result<std::vector<FieldRequirement>> ParseFieldSelector(std::string_view text,
                                                         const std::vector<std::string>& allowed) {
  std::vector<FieldRequirement> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string_view part =
        text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    start = comma == std::string_view::npos ? text.size() : comma + 1;
    FieldRequirement r;
    size_t op = part.find("!=");
    size_t len = 2;
    if (op == std::string_view::npos) {
      op = part.find("==");
      if (op == std::string_view::npos) {
        op = part.find('=');
        len = 1;
      }
    } else {
      r.equals = false;
    }
    if (op == std::string_view::npos) {
      return Error::Invalid("field selector \"" + std::string(text) + "\": \"" + std::string(part) +
                            "\" is not field=value or field!=value");
    }
    r.field = std::string(part.substr(0, op));
    r.value = std::string(part.substr(op + len));
    if (std::find(allowed.begin(), allowed.end(), r.field) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Error::Invalid("field selector: \"" + r.field + "\" is not a supported field (" +
                            list + ")");
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace berth::control
