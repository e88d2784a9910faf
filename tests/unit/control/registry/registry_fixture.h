// A registry over a fresh store in a temp directory, with a secret key.
#pragma once

#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/api/codec.h"
#include "berth/api/kinds.h"
#include "berth/control/registry.h"
#include "berth/control/secret_box.h"

namespace berth::control {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-registry-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = OpenRocksStore({dir_ / "db"});
    ASSERT_OK(store);
    store_ = std::move(*store);
    auto box = SecretBox::FromKey(std::string(32, 'k'));
    ASSERT_OK(box);
    box_ = std::make_unique<SecretBox>(std::move(*box));
    RegistryOptions options;
    options.secrets = box_.get();
    options.now = [this] { return now_; };
    registry_ = std::make_unique<Registry>(*store_, options);
    ASSERT_OK(registry_->Bootstrap({"default", "prod"}));
  }
  void TearDown() override {
    registry_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // An object from YAML (one document).
  static v1::Object Parse(std::string_view yaml) {
    auto manifests = api::DecodeManifests(yaml, "test.yaml");
    EXPECT_TRUE(manifests.ok()) << manifests.error().ToString();
    if (!manifests.ok() || manifests->empty()) return {};
    return (*manifests)[0].object;
  }

  static v1::Object Pod(const std::string& name, const std::string& node = "",
                        const std::string& app = "web") {
    return Parse("apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", labels: {app: " + app +
                 "}}\nspec:\n  nodeName: '" + node +
                 "'\n  containers: [{name: c, image: busybox}]\n");
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SecretBox> box_;
  std::unique_ptr<Registry> registry_;
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
};

}  // namespace berth::control
