// Passwords: a hash verifies its password and no other, carries its own
// salt (two accounts with one password do not share a hash), and every
// hash or verify is counted for the metric. Each real hash costs about
// 50-100 ms and 64 MiB, on purpose (a check as much): this file makes four
// and checks two, no more.

#include "services/chat/moderation/passwords.hpp"

#include <gtest/gtest.h>

namespace enchufe::services::chat::moderation {
namespace {

TEST(Passwords, AHashMatchesItsPasswordAndNoOther) {
  const auto hash = hash_password("correct horse battery");
  ASSERT_TRUE(hash.has_value());
  EXPECT_TRUE(hash->starts_with("$argon2id$")) << *hash;
  EXPECT_EQ(hash->find("correct horse"), std::string::npos) << "never the password in clear";
  EXPECT_TRUE(password_matches(*hash, "correct horse battery"));
  EXPECT_FALSE(password_matches(*hash, "correct horse batterz"));
}

TEST(Passwords, TheSamePasswordHashesDifferentlyEachTime) {
  // A fresh salt each time: a stolen file does not show who shares a password.
  const auto first = hash_password("correct horse battery");
  const auto second = hash_password("correct horse battery");
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(*first, *second);
}

TEST(Passwords, AStringThatIsNoHashMatchesNothing) {
  // A damaged row must not let any password in.
  EXPECT_FALSE(password_matches("", ""));
  EXPECT_FALSE(password_matches("not a hash", "not a hash"));
}

TEST(Passwords, EveryHashAndEveryCheckIsCountedOnce) {
  const auto before = hashes_computed();
  password_matches("not a hash", "x");  // refused at once, but still asked for
  EXPECT_EQ(hashes_computed(), before + 1);
  const auto hash = hash_password("correct horse battery");
  ASSERT_TRUE(hash.has_value());
  EXPECT_EQ(hashes_computed(), before + 2);
}

}  // namespace
}  // namespace enchufe::services::chat::moderation
