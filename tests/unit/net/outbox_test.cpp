#include "net/outbox.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace enchufe::net {
namespace {

// Everything owed, as the writer would see it through gather().
std::string pending(const Outbox& o) {
  std::array<asio::const_buffer, 64> buffers;
  std::string out;
  for (std::size_t i = 0, n = o.gather(buffers); i < n; ++i) {
    out.append(static_cast<const char*>(buffers[i].data()), buffers[i].size());
  }
  return out;
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
  EXPECT_EQ(pending(o), "");
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

TEST(Outbox, SharedTextsAreReferencedNotCopied) {
  Outbox o;
  auto text = std::make_shared<const std::string>("[12:00:00] <ana> hola\n");
  o.append(text);
  o.append(text);
  EXPECT_EQ(text.use_count(), 3);
  std::array<asio::const_buffer, 8> buffers;
  ASSERT_EQ(o.gather(buffers), 2u);
  EXPECT_EQ(buffers[0].data(), text->data());
  EXPECT_EQ(buffers[1].data(), text->data());
  o.consume(o.size());
  EXPECT_EQ(text.use_count(), 1) << "written texts are released";
}

TEST(Outbox, MixedOwnedAndSharedKeepTheirOrder) {
  Outbox o;
  o.append({"a", "b"});
  o.append(std::make_shared<const std::string>("SHARED"));
  o.append({"c"});
  o.append({"d"});
  o.append(std::make_shared<const std::string>("S2"));
  EXPECT_EQ(pending(o), "abSHAREDcdS2");
  EXPECT_EQ(o.size(), 12u);
  o.consume(3);  // "ab" and "S"
  EXPECT_EQ(pending(o), "HAREDcdS2");
  o.consume(6);  // "HARED" and "c"
  EXPECT_EQ(pending(o), "dS2");
  o.append({"e"});
  EXPECT_EQ(pending(o), "dS2e");
  o.consume(4);
  EXPECT_TRUE(o.empty());
}

TEST(Outbox, GatherStopsAtTheBuffersGiven) {
  Outbox o;
  for (int i = 0; i < 10; ++i) o.append(std::make_shared<const std::string>(std::to_string(i)));
  std::array<asio::const_buffer, 4> buffers;
  EXPECT_EQ(o.gather(buffers), 4u);
  o.consume(4);
  EXPECT_EQ(pending(o), "456789");
}

TEST(Outbox, ClearDropsEverything) {
  Outbox o;
  o.append({"abc"});
  o.append(std::make_shared<const std::string>("x"));
  o.clear();
  EXPECT_TRUE(o.empty());
  EXPECT_EQ(pending(o), "");
}

}  // namespace
}  // namespace enchufe::net
