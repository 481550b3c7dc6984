// `enchufe serve chat`: what one client sends cannot take over another's
// terminal (escape sequences, invalid UTF-8, bidi overrides) and over-long
// lines are refused without closing the connection.

#include "chat/chat_client.hpp"

#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::chat;
using namespace std::string_literals;

namespace {

class ChatSafety : public ChatTest {};

const std::string kFffd = "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER

}  // namespace

TEST_F(ChatSafety, ControlCharactersBecomeCaretNotation) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  // Colour, clear screen, set the window title, bell, backspace, DEL, NUL, CR.
  ASSERT_TRUE(ana.send("\x1b[31mrojo\x1b[0m \x1b[2J\x1b]0;pwned\x07 a\bb \x7f nul:\0: x\ry"s));
  EXPECT_EQ(escape(bob.raw_line().substr(11)), escape("<ana> ^[[31mrojo^[[0m ^[[2J^[]0;pwned^G a^Hb ^? nul:^@: x^My"));
  ASSERT_TRUE(ana.send("col1\tcol2"));
  EXPECT_EQ(bob.next(), "[t] <ana> col1 col2") << "a tab is a space";
  expect_all_quiet();
}

TEST_F(ChatSafety, InvalidUtf8BecomesReplacementCharacters) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  const std::string good = "¿Cómo estás? ñandú 日本語 🎉";
  ASSERT_TRUE(ana.send(good));
  EXPECT_EQ(bob.next(), "[t] <ana> " + good) << "valid UTF-8 passes untouched";
  // A lone continuation byte, bytes that are never UTF-8, a truncated
  // sequence, an overlong '/', a UTF-16 surrogate, past U+10FFFF.
  ASSERT_TRUE(ana.send("a\x80" "b\xff\xfe" "c\xe6\x97" "d\xc0\xaf" "e\xed\xa0\x80" "f\xf4\x90\x80\x80" "g"));
  const std::string expected = "<ana> a" + kFffd + "b" + kFffd + kFffd + "c" + kFffd + kFffd + "d" + kFffd + kFffd +
                               "e" + kFffd + kFffd + kFffd + "f" + kFffd + kFffd + kFffd + kFffd + "g";
  EXPECT_EQ(escape(bob.raw_line().substr(11)), escape(expected));
  expect_all_quiet();
}

TEST_F(ChatSafety, C1ControlsAndBidiOverridesAreNeutralised) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  // U+009B is CSI, the 8-bit ESC [; U+202E RIGHT-TO-LEFT OVERRIDE, U+2066..2069 isolates.
  ASSERT_TRUE(ana.send("x\xc2\x9b" "31my \xe2\x80\xae" "txt.exe \xe2\x81\xa6" "iso\xe2\x81\xa9 z"));
  EXPECT_EQ(escape(bob.raw_line().substr(11)), escape("<ana> x" + kFffd + "31my txt.exe iso z"));
  expect_all_quiet();
}

TEST_F(ChatSafety, ActionsPrivateMessagesAndQuitReasonsAreSanitisedToo) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("/me \x1b[5mparpadea\x07"));
  EXPECT_EQ(escape(bob.raw_line().substr(11)), escape("* ana ^[[5mparpadea^G"));
  ASSERT_TRUE(ana.send("/msg bob \x1b[2J\xff"));
  EXPECT_EQ(escape(bob.raw_line().substr(11)), escape("*ana* ^[[2J" + kFffd));
  EXPECT_EQ(escape(ana.raw_line().substr(11)), escape("-> *bob* ^[[2J" + kFffd));
  ASSERT_TRUE(ana.send("/quit \x1b]0;titulo\x07"));
  EXPECT_EQ(ana.next(), "* bye!");
  EXPECT_EQ(escape(bob.raw_line().substr(11)), escape("* ana left (quit: ^[]0;titulo^G)"));
}

// The history holds the sanitised line, not the raw bytes.
TEST_F(ChatSafety, HistoryReplaysTheSanitisedLine) {
  auto& ana = login("ana");
  ASSERT_TRUE(ana.send("\x1b[31mhola\xff"));
  auto bob = ChatClient::connect(port());
  bob->read_welcome();
  EXPECT_EQ(bob->next(), "* the last 1 message in general:");
  EXPECT_EQ(escape(bob->raw_line().substr(11)), escape("<ana> ^[[31mhola" + kFffd));
}

// ---- over-long lines ----------------------------------------------------------------

TEST_F(ChatSafety, OverLongLineIsRefusedAndTheClientStays) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  const std::string longest(4096, 'a');
  ASSERT_TRUE(ana.send(longest));
  EXPECT_EQ(bob.next(), "[t] <ana> " + longest) << "4096 bytes is the limit, not over it";
  ASSERT_TRUE(ana.send(longest + "\r"));
  EXPECT_EQ(bob.next(), "[t] <ana> " + longest) << "the \\r of \\r\\n does not count";
  ASSERT_TRUE(ana.send(std::string(4097, 'b')));
  EXPECT_EQ(ana.next(), "error: line too long (over 4096 bytes): not sent");
  ASSERT_TRUE(ana.send(std::string(100'000, 'c')));
  EXPECT_EQ(ana.next(), "error: line too long (over 4096 bytes): not sent");
  ASSERT_TRUE(ana.send("sigo aquí"));
  EXPECT_EQ(bob.next(), "[t] <ana> sigo aquí") << "the connection stays and works";
  expect_all_quiet();
}

TEST_F(ChatSafety, OverLongLineIsStoppedBeforeItsNewline) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  // 10 KB without a newline: the error comes at once, not at the newline.
  ASSERT_TRUE(ana.send_raw(std::string(10'000, 'x')));
  EXPECT_EQ(ana.next(), "error: line too long (over 4096 bytes): not sent");
  // The rest of that line is skipped, up to its newline.
  ASSERT_TRUE(ana.send_raw(std::string(10'000, 'y') + "fin de la línea larga\nsiguiente\n"));
  EXPECT_EQ(bob.next(), "[t] <ana> siguiente");
  expect_all_quiet();
}

TEST_F(ChatSafety, MaxLineFlag) {
  start({"--max-line", "100"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send(std::string(100, 'a')));
  EXPECT_EQ(bob.next(), "[t] <ana> " + std::string(100, 'a'));
  ASSERT_TRUE(ana.send(std::string(101, 'a')));
  EXPECT_EQ(ana.next(), "error: line too long (over 100 bytes): not sent");
  ASSERT_TRUE(ana.send("/me sigue"));
  EXPECT_EQ(bob.next(), "[t] * ana sigue");
  expect_all_quiet();
}

TEST_F(ChatSafety, OverLongFirstLineLeavesTheNicknameChance) {
  auto& ana = login("ana");
  auto& g = guest();
  ASSERT_TRUE(g.send(std::string(5000, 'n')));
  EXPECT_EQ(g.next(), "error: line too long (over 4096 bytes): not sent");
  ASSERT_TRUE(g.send("bea"));
  EXPECT_EQ(g.next(), "* you are bea now");
  EXPECT_EQ(ana.next(), "[t] * " + g.nick + " is now known as bea");
}

// ---- line framing -----------------------------------------------------------------

// A line that reaches the server in two pieces (a slow link, a client that
// writes as the user types) is still one message: chat is line-based.
TEST_F(ChatSafety, LineSplitAcrossWritesIsOneMessage) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send_raw("ho"));
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(ana.send_raw("la\n"));
  EXPECT_EQ(bob.next(), "[t] <ana> hola");
  expect_all_quiet();
}

// Chat has no --partial-delay at all: only a newline ends a message.
TEST_F(ChatSafety, PartialDelayIsNotAChatOption) {
  const auto r = run_enchufe({"serve", "chat", "--port", "0", "--partial-delay", "5000"});
  EXPECT_TRUE(r.exited_with(2)) << r;
}
