#include "services/chat/commands.hpp"

#include <gtest/gtest.h>

namespace enchufe::services::chat {
namespace {

Command parse(std::string_view line) { return parse_command(line, "salir"); }

TEST(Commands, PlainTextIsSaid) {
  const auto c = parse("hola a todos");
  EXPECT_EQ(c.kind, CommandKind::say);
  EXPECT_EQ(c.text, "hola a todos");
}

TEST(Commands, DoubleSlashSaysTheRestWithOneSlash) {
  const auto c = parse("//etc/passwd is a file");
  EXPECT_EQ(c.kind, CommandKind::say);
  EXPECT_EQ(c.text, "/etc/passwd is a file");
}

TEST(Commands, QuitWordAndQuitCommand) {
  EXPECT_EQ(parse("salir").kind, CommandKind::quit);
  EXPECT_EQ(parse("  SALIR ").kind, CommandKind::quit);
  const auto q = parse("/quit me voy a dormir");
  EXPECT_EQ(q.kind, CommandKind::quit);
  EXPECT_EQ(q.text, "me voy a dormir");
  EXPECT_EQ(parse("/QUIT").kind, CommandKind::quit);
  EXPECT_EQ(parse("salir ya").kind, CommandKind::say);
}

TEST(Commands, OneArgumentCommands) {
  auto c = parse("/nick  ana ");
  EXPECT_EQ(c.kind, CommandKind::nick);
  EXPECT_EQ(c.target, "ana");
  c = parse("/join #dev");
  EXPECT_EQ(c.kind, CommandKind::join);
  EXPECT_EQ(c.target, "#dev");
}

TEST(Commands, MsgTakesANickAndText) {
  const auto c = parse("/msg bob  hola bob, ¿qué tal?");
  EXPECT_EQ(c.kind, CommandKind::msg);
  EXPECT_EQ(c.target, "bob");
  EXPECT_EQ(c.text, "hola bob, ¿qué tal?");
}

TEST(Commands, MeTakesTheAction) {
  const auto c = parse("/me waves at everyone");
  EXPECT_EQ(c.kind, CommandKind::me);
  EXPECT_EQ(c.text, "waves at everyone");
}

TEST(Commands, NoArgumentCommands) {
  EXPECT_EQ(parse("/leave").kind, CommandKind::leave);
  EXPECT_EQ(parse("/rooms").kind, CommandKind::rooms);
  EXPECT_EQ(parse("/who").kind, CommandKind::who);
  EXPECT_EQ(parse("/help").kind, CommandKind::help);
  EXPECT_EQ(parse("/Help").kind, CommandKind::help);
}

TEST(Commands, BadArgumentsSayTheUsage) {
  for (const char* bad : {"/nick", "/nick a b", "/join", "/join a b", "/msg", "/msg bob", "/me", "/who x",
                          "/rooms all", "/leave now", "/help me"}) {
    const auto c = parse(bad);
    EXPECT_EQ(c.kind, CommandKind::invalid) << bad;
    EXPECT_NE(c.error.find("usage: /"), std::string_view::npos) << bad << ": " << c.error;
  }
}

TEST(Commands, UnknownCommandsAreInvalid) {
  for (const char* bad : {"/", "/foo", "/nickname ana", "/ join"}) {
    const auto c = parse(bad);
    EXPECT_EQ(c.kind, CommandKind::invalid) << bad;
    EXPECT_NE(c.error.find("unknown command"), std::string_view::npos) << bad;
  }
}


TEST(Commands, HistoryTakesACountAnAgeOrALineId) {
  EXPECT_EQ(parse("/history").kind, CommandKind::history_back);
  EXPECT_EQ(parse("/history").number, 0u);
  const auto count = parse("/history 200");
  EXPECT_EQ(count.kind, CommandKind::history_back);
  EXPECT_EQ(count.number, 200u);
  const auto age = parse("/history 90m");
  EXPECT_EQ(age.kind, CommandKind::history_age);
  EXPECT_EQ(age.number, 90u * 60);
  EXPECT_EQ(parse("/history 7d").number, 7u * 24 * 3600);
  EXPECT_EQ(parse("/history 45s").number, 45u);
  const auto since = parse("/history since #42");
  EXPECT_EQ(since.kind, CommandKind::history_since);
  EXPECT_EQ(since.number, 42u);
  EXPECT_EQ(parse("/HISTORY SINCE 0").number, 0u);
  for (const auto bad : {"/history 0", "/history 201", "/history -3", "/history 1.5h", "/history 0m", "/history 367d",
                         "/history 99999999999999999999", "/history since", "/history since -1", "/history since 4 5",
                         "/history 3 4", "/history h", "/history since #"}) {
    const auto c = parse(bad);
    EXPECT_EQ(c.kind, CommandKind::invalid) << bad;
    EXPECT_TRUE(c.error.starts_with("usage: /history")) << bad;
  }
}

TEST(Commands, SearchTakesBoundedText) {
  const auto c = parse("/search  hola   mundo ");
  EXPECT_EQ(c.kind, CommandKind::search);
  EXPECT_EQ(c.text, "hola   mundo");
  EXPECT_EQ(parse("/search " + std::string(200, 'a')).kind, CommandKind::search);
  EXPECT_EQ(parse("/search " + std::string(201, 'a')).kind, CommandKind::invalid);
  EXPECT_EQ(parse("/search").kind, CommandKind::invalid);
  EXPECT_EQ(parse("/search   ").kind, CommandKind::invalid);
}

TEST(Commands, IdsTakesOnOrOff) {
  EXPECT_EQ(parse("/ids on").kind, CommandKind::ids);
  EXPECT_EQ(parse("/ids on").number, 1u);
  EXPECT_EQ(parse("/IDS Off").kind, CommandKind::ids);
  EXPECT_EQ(parse("/ids off").number, 0u);
  for (const char* bad : {"/ids", "/ids yes", "/ids on off", "/ids 1"}) {
    const auto c = parse(bad);
    EXPECT_EQ(c.kind, CommandKind::invalid) << bad;
    EXPECT_EQ(c.error, "usage: /ids on|off") << bad;
  }
}

TEST(Commands, ResumeTakesOneLineId) {
  auto c = parse("/resume 41");
  EXPECT_EQ(c.kind, CommandKind::resume);
  EXPECT_EQ(c.number, 41u);
  c = parse("/resume #0");
  EXPECT_EQ(c.kind, CommandKind::resume);
  EXPECT_EQ(c.number, 0u);
  for (const char* bad : {"/resume", "/resume -1", "/resume 4 5", "/resume #", "/resume x",
                          "/resume 99999999999999999999"}) {
    EXPECT_EQ(parse(bad).kind, CommandKind::invalid) << bad;
  }
}

}  // namespace
}  // namespace enchufe::services::chat
