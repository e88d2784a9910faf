#include "berth/runtime/image/reference.h"

namespace berth::runtime::image {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A repository path component: [a-z0-9]+ joined by ".", "_", "__" or "-"+
// (distribution/reference regexp.go).
bool IsValidComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

bool IsValidHost(std::string_view h) {
  if (h.empty()) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

Error Bad(std::string_view ref, const std::string& why) {
  return Error::Invalid("image reference \"" + std::string(ref) + "\": " + why);
}

}  // namespace

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  for (size_t i = 0; i < tag.size(); ++i) {
    char c = tag[i];
    bool word =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

std::string Reference::String() const {
  std::string s = Name();
  if (!tag.empty()) s += ":" + tag;
  if (digest) s += "@" + digest->String();
  return s;
}

std::string Reference::StoreKey() const {
  if (digest) return Name() + "@" + digest->String();
  return Name() + ":" + tag;
}

Result<Reference> ParseReference(std::string_view s) {
  if (s.empty()) return Bad(s, "empty");
  if (s.size() > 512) return Bad(s.substr(0, 64), "longer than 512 characters");
  Reference ref;
  std::string_view rest = s;

  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    auto d = ParseDigest(rest.substr(at + 1));
    if (!d.ok()) return Bad(s, d.error().message());
    ref.digest = std::move(d).value();
    rest = rest.substr(0, at);
  }
  // A tag follows the last ':' after the last '/' (a ':' before it is a port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (!IsValidTag(ref.tag)) return Bad(s, "invalid tag \"" + ref.tag + "\"");
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return Bad(s, "missing repository name");

  // Registry host detection, as docker's splitDockerDomain does.
  size_t first = rest.find('/');
  std::string_view head = first == std::string_view::npos ? "" : rest.substr(0, first);
  if (first != std::string_view::npos &&
      (head.find_first_of(".:") != std::string_view::npos || head == "localhost")) {
    if (!IsValidHost(head)) return Bad(s, "invalid registry host \"" + std::string(head) + "\"");
    ref.registry = std::string(head);
    ref.repository = std::string(rest.substr(first + 1));
  } else {
    ref.registry = std::string(kDefaultRegistry);
    ref.repository = std::string(rest);
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io") {
    ref.registry = std::string(kDefaultRegistry);
  }
  if (ref.registry == kDefaultRegistry && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }

  std::string_view repo = ref.repository;
  for (size_t pos = 0;;) {
    size_t end = repo.find('/', pos);
    std::string_view comp = repo.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (!IsValidComponent(comp)) {
      return Bad(s, "invalid repository component \"" + std::string(comp) +
                        "\" (lowercase letters, digits and . _ __ - separators)");
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  if (ref.Name().size() > 255) return Bad(s, "name longer than 255 characters");
  if (ref.tag.empty() && !ref.digest) ref.tag = std::string(kDefaultTag);
  return ref;
}

}  // namespace berth::runtime::image
