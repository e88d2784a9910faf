// Every manifest under examples/ (but the agent's static pods) decodes
// strictly and passes the control plane's validation and admission, so a
// new user can apply each one as it is.
#include <filesystem>

#include "registry_fixture.h"

#include "berth/common/file.h"

namespace berth::control {
namespace {

namespace fs = std::filesystem;

TEST_F(RegistryTest, EveryExampleIsAValidManifest) {
  int objects = 0;
  for (const auto& e : fs::recursive_directory_iterator(BERTH_EXAMPLES)) {
    if (!e.is_regular_file() || e.path().extension() != ".yaml") continue;
    if (e.path().parent_path().filename() == "agent") continue;  // static pods and agent config
    auto text = ReadFile(e.path());
    ASSERT_OK(text);
    auto manifests = api::DecodeManifests(*text, e.path().string());
    ASSERT_OK(manifests);
    for (const auto& m : *manifests) {
      v1::Object o = m.object;
      if (api::KindOf(o)->namespaced && api::MetaOf(o).namespace_().empty()) {
        api::MutableMeta(o)->set_namespace_("default");
      }
      auto created = registry_->Create(o, /*dry_run=*/true);
      EXPECT_TRUE(created.ok()) << e.path() << ": " << created.error().ToString();
      ++objects;
    }
  }
  EXPECT_GE(objects, 10);
}

}  // namespace
}  // namespace berth::control
