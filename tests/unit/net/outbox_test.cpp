#include "net/outbox.hpp"

#include <gtest/gtest.h>

#include <string>

namespace enchufe::net {
namespace {

std::string pending(const Outbox& o) {
  const auto b = o.pending();
  return {static_cast<const char*>(b.data()), b.size()};
}

TEST(Outbox, AppendsPiecesBackToBack) {
  Outbox o;
  o.append({"Eco: ", "hola", "\n"});
  o.append({"Eco: ", "x", ""});
  EXPECT_EQ(pending(o), "Eco: hola\nEco: x");
  EXPECT_EQ(o.size(), 16u);
}

TEST(Outbox, ConsumeDropsWrittenBytesInOrder) {
  Outbox o;
  o.append({"abcdef"});
  o.consume(2);
  EXPECT_EQ(pending(o), "cdef");
  o.append({"gh"});
  EXPECT_EQ(pending(o), "cdefgh");
  o.consume(5);
  EXPECT_EQ(pending(o), "h");
  o.consume(1);
  EXPECT_TRUE(o.empty());
  EXPECT_EQ(o.pending().size(), 0u);
}

TEST(Outbox, ManyPartialWritesKeepEveryByte) {
  Outbox o;
  std::string expected, got;
  for (int i = 0; i < 1000; ++i) {
    const std::string piece = std::to_string(i) + ",";
    expected += piece;
    o.append({piece});
    if (i % 3 == 0) {
      const auto n = o.size() / 2;
      got += pending(o).substr(0, n);
      o.consume(n);
    }
  }
  got += pending(o);
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace enchufe::net
