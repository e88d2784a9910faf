#include "berth/control/controllers/node_ipam.h"

#include "registry_fixture.h"

namespace berth::control {
namespace {

class NodeIpamTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    auto ipam = NodeIpam::Create(*store_, "10.244.0.0/22");  // four /24 blocks
    ASSERT_OK(ipam);
    registry_->AddAdmission(std::move(*ipam));
  }

  Result<v1::Object> AddNode(const std::string& name, const std::string& cidr = "") {
    v1::Object o;
    o.mutable_node()->mutable_metadata()->set_name(name);
    o.mutable_node()->mutable_spec()->set_pod_cidr(cidr);
    return registry_->Create(o);
  }

  std::string OwnerOf(uint64_t block) {
    RangeAllocator blocks(*store_, "/registry/allocations/podcidrs/", 4, "test");
    auto owner = blocks.Owner(block);
    return owner.ok() ? *owner : "<error>";
  }
};

TEST_F(NodeIpamTest, NodesGetDistinctBlocksThatAreReleasedWithThem) {
  auto a = AddNode("a");
  ASSERT_OK(a);
  EXPECT_EQ(a->node().spec().pod_cidr(), "10.244.0.0/24");
  ASSERT_EQ(a->node().spec().pod_cidrs_size(), 1);
  auto b = AddNode("b");
  ASSERT_OK(b);
  EXPECT_EQ(b->node().spec().pod_cidr(), "10.244.1.0/24");
  auto c = AddNode("c", "10.244.3.0/24");  // asked for
  ASSERT_OK(c);
  EXPECT_EQ(OwnerOf(3), "c");
  EXPECT_ERRNO(AddNode("d", "10.244.3.0/24"), EEXIST);
  EXPECT_ERRNO(AddNode("e", "10.9.0.0/24"), EINVAL);
  EXPECT_ERRNO(AddNode("f", "10.244.2.0/23"), EINVAL);
  auto g = AddNode("g");
  ASSERT_OK(g);
  EXPECT_EQ(g->node().spec().pod_cidr(), "10.244.2.0/24");
  auto full = AddNode("h");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().err(), ENOSPC);

  ASSERT_OK(registry_->Delete({"Node", "", "b"}));
  EXPECT_EQ(OwnerOf(1), "");
  auto again = AddNode("h");
  ASSERT_OK(again);
  EXPECT_EQ(again->node().spec().pod_cidr(), "10.244.1.0/24");
}

TEST_F(NodeIpamTest, AFailedWriteKeepsNoBlock) {
  ASSERT_OK(AddNode("a"));
  // The name is taken: the write fails after admission allocated a block.
  EXPECT_ERRNO(AddNode("a"), EEXIST);
  EXPECT_EQ(OwnerOf(1), "");
  // A dry run allocates nothing either.
  v1::Object dry;
  dry.mutable_node()->mutable_metadata()->set_name("dry");
  ASSERT_OK(registry_->Create(dry, /*dry_run=*/true));
  EXPECT_EQ(OwnerOf(2), "");
  EXPECT_EQ(OwnerOf(1), "");
}

}  // namespace
}  // namespace berth::control
