// Image references as Docker and containerd normalise them:
//   busybox                 -> docker.io/library/busybox:latest
//   me/app:1.0              -> docker.io/me/app:1.0
//   localhost:5000/app      -> localhost:5000/app:latest
//   quay.io/x/y@sha256:...  -> quay.io/x/y@sha256:...
// The first path component is a registry host when it contains '.' or ':' or
// is "localhost" (see distribution/reference normalize.go). Values only;
// thread-safe. Errors: EINVAL naming the offending part.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "berth/common/error.h"
#include "berth/runtime/image/digest.h"

namespace berth::runtime::image {

inline constexpr std::string_view kDefaultRegistry = "docker.io";
inline constexpr std::string_view kDefaultTag = "latest";

struct Reference {
  std::string registry;    // "docker.io", "localhost:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // empty when only a digest was given
  std::optional<Digest> digest;

  // "docker.io/library/busybox"
  std::string Name() const { return registry + "/" + repository; }
  // Full form: name[:tag][@digest].
  std::string String() const;
  // The key the store indexes: name@digest when a digest is present, else name:tag.
  std::string StoreKey() const;
};

Result<Reference> ParseReference(std::string_view s);
// A tag as the distribution spec allows: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool IsValidTag(std::string_view tag);

}  // namespace berth::runtime::image
