#include "services/chat/commands.hpp"

#include <gtest/gtest.h>

#include <string>

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
  for (const char* bad : {"/nick", "/join", "/join a b", "/msg", "/msg bob", "/me", "/who x",
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

// ---- accounts (moderation/parse.cpp) ----

// The error of `line`, which must be invalid.
std::string_view error_of(std::string_view line) {
  const auto c = parse(line);
  EXPECT_EQ(c.kind, CommandKind::invalid) << line;
  return c.error;
}

constexpr std::string_view kPasswordRule = "a password is 8 to 128 characters";

TEST(Commands, RegisterTakesTheRestOfTheLineAsThePassword) {
  auto c = parse("/register  secreto123 ");
  EXPECT_EQ(c.kind, CommandKind::register_account);
  EXPECT_EQ(c.text, "secreto123");
  EXPECT_TRUE(c.target.empty()) << "it claims the nickname in use, not one named";
  // Spaces inside are part of it: a passphrase.
  c = parse("/REGISTER mi clave  larga");
  EXPECT_EQ(c.kind, CommandKind::register_account);
  EXPECT_EQ(c.text, "mi clave  larga");
}

TEST(Commands, RegisterWithoutAPasswordSaysTheUsage) {
  EXPECT_TRUE(error_of("/register").starts_with("usage: /register"));
  EXPECT_TRUE(error_of("/register   ").starts_with("usage: /register"));
}

TEST(Commands, PasswordsAreEightTo128Characters) {
  EXPECT_EQ(error_of("/register " + std::string(7, 'p')), kPasswordRule);
  EXPECT_EQ(parse("/register " + std::string(8, 'p')).kind, CommandKind::register_account);
  EXPECT_EQ(parse("/register " + std::string(128, 'p')).kind, CommandKind::register_account);
  EXPECT_EQ(error_of("/register " + std::string(129, 'p')), kPasswordRule);
  EXPECT_EQ(error_of("/login ana " + std::string(7, 'p')), kPasswordRule);
  EXPECT_EQ(parse("/login ana " + std::string(128, 'p')).kind, CommandKind::login);
  EXPECT_EQ(error_of("/login ana " + std::string(129, 'p')), kPasswordRule);
}

TEST(Commands, LoginTakesANickAndThenThePassword) {
  auto c = parse("/login Ana secreto123");
  EXPECT_EQ(c.kind, CommandKind::login);
  EXPECT_EQ(c.target, "Ana");
  EXPECT_EQ(c.text, "secreto123");
  c = parse("/LOGIN  ana   mi clave larga ");
  EXPECT_EQ(c.kind, CommandKind::login);
  EXPECT_EQ(c.target, "ana");
  EXPECT_EQ(c.text, "mi clave larga");
}

TEST(Commands, LoginWithoutANickOrAPasswordSaysTheUsage) {
  EXPECT_EQ(error_of("/login"), "usage: /login NICK PASSWORD");
  EXPECT_EQ(error_of("/login secreto123"), "usage: /login NICK PASSWORD");
}

TEST(Commands, NickWithAPasswordLogsIn) {
  // IRC clients send "/nick NAME PASSWORD" to log in.
  const auto c = parse("/nick ana secreto123");
  EXPECT_EQ(c.kind, CommandKind::login);
  EXPECT_EQ(c.target, "ana");
  EXPECT_EQ(c.text, "secreto123");
}

TEST(Commands, NickWithAShortSecondWordIsALoginRefusedForItsPassword) {
  // Not "usage: /nick": the second word is read as a password.
  EXPECT_EQ(error_of("/nick a b"), kPasswordRule);
}

// ---- moderation ----

TEST(Commands, OneNickCommandsTakeExactlyOneTarget) {
  const struct {
    const char* name;
    CommandKind kind;
  } commands[] = {{"op", CommandKind::op},
                  {"deop", CommandKind::deop},
                  {"unban", CommandKind::unban},
                  {"unmute", CommandKind::unmute}};
  for (const auto& command : commands) {
    const std::string slash = std::string("/") + command.name;
    const std::string line = slash + "  bob ";  // the command's views point into it
    const auto c = parse(line);
    EXPECT_EQ(c.kind, command.kind) << slash;
    EXPECT_EQ(c.target, "bob") << slash;
    EXPECT_TRUE(error_of(slash).starts_with("usage: " + slash + " ")) << slash;
    EXPECT_TRUE(error_of(slash + " bob carla").starts_with("usage: " + slash + " ")) << slash;
  }
}

TEST(Commands, UnbanTakesAnAddressPrefix) {
  const auto c = parse("/unban 192.0.2.0/24");
  EXPECT_EQ(c.kind, CommandKind::unban);
  EXPECT_EQ(c.target, "192.0.2.0/24");
}

TEST(Commands, KickTakesANickAndAnOptionalReason) {
  auto c = parse("/kick bob");
  EXPECT_EQ(c.kind, CommandKind::kick);
  EXPECT_EQ(c.target, "bob");
  EXPECT_TRUE(c.text.empty());
  c = parse("/KICK bob  por   spam ");
  EXPECT_EQ(c.kind, CommandKind::kick);
  EXPECT_EQ(c.target, "bob");
  EXPECT_EQ(c.text, "por   spam");
  EXPECT_EQ(error_of("/kick"), "usage: /kick NICK [REASON]");
}

TEST(Commands, AKickReasonIsAtMost200Characters) {
  EXPECT_EQ(parse("/kick bob " + std::string(200, 'r')).kind, CommandKind::kick);
  EXPECT_EQ(error_of("/kick bob " + std::string(201, 'r')), "the reason is too long (at most 200 characters)");
}

TEST(Commands, BanWithoutADurationIsForEver) {
  auto c = parse("/ban bob");
  EXPECT_EQ(c.kind, CommandKind::ban);
  EXPECT_EQ(c.target, "bob");
  EXPECT_EQ(c.number, 0u);
  EXPECT_TRUE(c.text.empty());
  c = parse("/ban bob por spam");
  EXPECT_EQ(c.number, 0u);
  EXPECT_EQ(c.text, "por spam");
}

TEST(Commands, BanTakesADurationBeforeTheReason) {
  auto c = parse("/ban bob 10m");
  EXPECT_EQ(c.kind, CommandKind::ban);
  EXPECT_EQ(c.number, 600u);
  EXPECT_TRUE(c.text.empty());
  c = parse("/ban bob 2h  por spam");
  EXPECT_EQ(c.number, 2u * 3600);
  EXPECT_EQ(c.text, "por spam");
  c = parse("/ban 192.0.2.0/24 2w");
  EXPECT_EQ(c.target, "192.0.2.0/24");
  EXPECT_EQ(c.number, 14u * 24 * 3600);
  EXPECT_EQ(parse("/ban bob 366d").number, 366u * 24 * 3600);
}

TEST(Commands, ABanReasonThatStartsWithANumberIsKeptWhole) {
  // "10" has no unit: it is the reason's first word, not a duration.
  const auto c = parse("/ban bob 10 reasons to go");
  EXPECT_EQ(c.kind, CommandKind::ban);
  EXPECT_EQ(c.number, 0u);
  EXPECT_EQ(c.text, "10 reasons to go");
}

TEST(Commands, ABanDurationOutOfRangeIsRefusedNotTakenAsTheReason) {
  // A ban meant to be short must not become one for ever.
  for (const char* line : {"/ban bob 367d flooding", "/ban bob 0m", "/ban bob 99999999999999999999w"}) {
    const auto c = parse(line);
    EXPECT_EQ(c.kind, CommandKind::invalid) << line;
    EXPECT_EQ(c.error, "a duration is a number and a unit, up to a year: 30s, 10m, 2h, 7d, 2w") << line;
  }
  // A number alone, or a word, is the reason's start.
  const auto c = parse("/ban bob 10 reasons");
  EXPECT_EQ(c.kind, CommandKind::ban);
  EXPECT_EQ(c.number, 0u);
  EXPECT_EQ(c.text, "10 reasons");
}

TEST(Commands, ABanReasonIsAtMost200CharactersAfterTheDuration) {
  EXPECT_EQ(parse("/ban bob 1h " + std::string(200, 'r')).kind, CommandKind::ban);
  EXPECT_EQ(error_of("/ban bob 1h " + std::string(201, 'r')), "the reason is too long (at most 200 characters)");
  EXPECT_EQ(error_of("/ban bob " + std::string(201, 'r')), "the reason is too long (at most 200 characters)");
}

TEST(Commands, BanWithoutATargetSaysTheUsage) {
  EXPECT_TRUE(error_of("/ban").starts_with("usage: /ban "));
}

TEST(Commands, MuteTakesANickAndAnOptionalDuration) {
  auto c = parse("/mute ana");
  EXPECT_EQ(c.kind, CommandKind::mute);
  EXPECT_EQ(c.target, "ana");
  EXPECT_EQ(c.number, 0u) << "until /unmute";
  c = parse("/MUTE ana 10m");
  EXPECT_EQ(c.kind, CommandKind::mute);
  EXPECT_EQ(c.number, 600u);
  EXPECT_TRUE(c.text.empty());
}

TEST(Commands, AMuteDurationMustReadAsOne) {
  // A mute has no reason, so a word that starts like a number and is not a
  // duration is a mistake to point out, not text to keep.
  constexpr std::string_view kDurationRule = "a duration is a number and a unit, up to a year: 30s, 10m, 2h, 7d, 2w";
  EXPECT_EQ(error_of("/mute ana 5x"), kDurationRule);
  EXPECT_EQ(error_of("/mute ana 367d"), kDurationRule);
  EXPECT_EQ(error_of("/mute ana 0m"), kDurationRule);
  EXPECT_EQ(error_of("/mute ana 10"), kDurationRule);
}

TEST(Commands, MuteTakesNothingAfterTheDuration) {
  EXPECT_EQ(error_of("/mute ana 10m extra"), "usage: /mute NICK [DURATION]");
  EXPECT_EQ(error_of("/mute ana soon"), "usage: /mute NICK [DURATION]");
  EXPECT_EQ(error_of("/mute"), "usage: /mute NICK [DURATION]");
}

TEST(Commands, BansTakesNoArguments) {
  EXPECT_EQ(parse("/bans").kind, CommandKind::bans);
  EXPECT_EQ(error_of("/bans all"), "usage: /bans (no arguments)");
}

TEST(Commands, TopicAloneShowsItAndWithTextSetsIt) {
  auto c = parse("/topic");
  EXPECT_EQ(c.kind, CommandKind::topic);
  EXPECT_TRUE(c.text.empty());
  c = parse("/topic  Hola,  bienvenidos ");
  EXPECT_EQ(c.kind, CommandKind::topic);
  EXPECT_EQ(c.text, "Hola,  bienvenidos");
}

TEST(Commands, ATopicIsAtMost300Characters) {
  EXPECT_EQ(parse("/topic " + std::string(300, 't')).kind, CommandKind::topic);
  EXPECT_EQ(error_of("/topic " + std::string(301, 't')), "the topic is too long (at most 300 characters)");
}

TEST(Commands, RatelimitTakesLinesPerSecondAndABurst) {
  auto c = parse("/ratelimit 2/s 5");
  EXPECT_EQ(c.kind, CommandKind::ratelimit);
  EXPECT_EQ(c.rate, 2.0);
  EXPECT_EQ(c.number, 5u);
  c = parse("/RATELIMIT 0.5 1");
  EXPECT_EQ(c.kind, CommandKind::ratelimit);
  EXPECT_EQ(c.rate, 0.5);
  EXPECT_EQ(c.number, 1u);
}

TEST(Commands, RatelimitRefusesRatesAndBurstsThatAreNotPositiveNumbers) {
  for (const char* bad : {"/ratelimit 0 5", "/ratelimit 2/s 0", "/ratelimit abc 5", "/ratelimit -1 5",
                          "/ratelimit nan 5", "/ratelimit inf 5", "/ratelimit 2000000 5", "/ratelimit 2/s 1000001",
                          "/ratelimit 2/s -5", "/ratelimit 2/m 5", "/ratelimit 2/s", "/ratelimit", "/ratelimit 2/s 5 6"}) {
    EXPECT_TRUE(error_of(bad).starts_with("usage: /ratelimit ")) << bad;
  }
}

TEST(Commands, WallTakesUpTo200Characters) {
  const auto c = parse("/wall  reinicio en 5 minutos ");
  EXPECT_EQ(c.kind, CommandKind::wall);
  EXPECT_EQ(c.text, "reinicio en 5 minutos");
  EXPECT_EQ(parse("/wall " + std::string(200, 'w')).kind, CommandKind::wall);
  EXPECT_TRUE(error_of("/wall " + std::string(201, 'w')).starts_with("usage: /wall"));
  EXPECT_TRUE(error_of("/wall").starts_with("usage: /wall"));
}

}  // namespace
}  // namespace enchufe::services::chat
