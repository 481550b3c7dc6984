// `enchufe serve chat` with real clients: a scripted netcat (Debian's
// netcat-openbsd) session, `enchufe connect`, and the chat inside `serve all`.

#include "chat/chat_client.hpp"

#include <sys/stat.h>

#include <algorithm>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

class ChatTools : public ChatTest {};

constexpr const char* kNc = "/usr/bin/nc";

bool have_nc() {
  struct stat st{};
  return ::stat(kNc, &st) == 0;
}

std::vector<std::string> normalized_lines(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& line : split_lines(text)) out.push_back(normalized(line));
  return out;
}

}  // namespace

// A person at nc, scripted: takes a nickname, talks with a test client,
// asks who is here, does an action, and says salir. nc exits when the
// server closes (its input ends right after salir).
TEST_F(ChatTools, ScriptedNetcatSession) {
  if (!have_nc()) GTEST_SKIP() << kNc << " is not installed (Debian: netcat-openbsd)";
  start({"--threads", "1"});
  auto& bob = login("bob");
  const std::string script = "(sleep 0.3; echo ana; sleep 0.4; echo 'hola, soy ana'; sleep 0.6; echo /who; "
                             "sleep 0.2; echo '/me se despide'; echo salir) | " +
                             std::string(kNc) + " 127.0.0.1 " + std::to_string(port());
  Process nc("/bin/sh", {"-c", script});

  // bob sees ana arrive, and answers her.
  const std::string guest = bob.wait_for_prefix("[t] * guest-");
  EXPECT_TRUE(guest.ends_with(" joined general")) << guest;
  const std::string guest_name = guest.substr(6, guest.find(' ', 6) - 6);
  EXPECT_EQ(bob.next(), "[t] * " + guest_name + " is now known as ana");
  EXPECT_EQ(bob.next(), "[t] <ana> hola, soy ana");
  ASSERT_TRUE(bob.send("hola ana, soy bob"));
  EXPECT_EQ(bob.next(), "[t] * ana se despide");
  EXPECT_EQ(bob.next(), "[t] * ana left (quit)");

  const auto status = nc.wait_exit(5000ms);
  ASSERT_TRUE(status.has_value()) << "nc did not end after salir\n" << nc.diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << nc.diagnostics();
  const std::vector<std::string> expected = {
      "* Welcome to enchufe chat! /help lists the commands.",
      "* You are " + guest_name + ". Type a nickname to take it (e.g. ana), or just start talking.",
      "* you are in general now; /who lists who is here",
      "* you are ana now",
      "[t] <bob> hola ana, soy bob",
      "* 2 in general: ana, bob",
      "* bye!",
  };
  EXPECT_EQ(normalized_lines(nc.stdout_text()), expected) << nc.diagnostics();
}

// nc -N half-closes when its input ends: the server takes that as leaving.
TEST_F(ChatTools, NetcatEndOfInputLeaves) {
  if (!have_nc()) GTEST_SKIP() << kNc << " is not installed (Debian: netcat-openbsd)";
  auto& bob = login("bob");
  Process nc(kNc, {"-N", "127.0.0.1", std::to_string(port())});
  ASSERT_TRUE(nc.write_stdin("ana\nadiós\n"));
  nc.close_stdin();
  EXPECT_EQ(bob.wait_for_prefix("[t] <ana>"), "[t] <ana> adiós");
  EXPECT_EQ(bob.next(), "[t] * ana left (disconnected)");
  const auto status = nc.wait_exit(5000ms);
  ASSERT_TRUE(status.has_value()) << nc.diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << nc.diagnostics();
}

TEST_F(ChatTools, EnchufeConnectSession) {
  auto& bob = login("bob");
  const auto r = run_enchufe({"connect", "127.0.0.1", std::to_string(port())},
                             RunOptions{"ana\nhola desde enchufe connect\n/who\nsalir\n"});
  EXPECT_TRUE(r.exited_with(0)) << r;
  const auto lines = normalized_lines(r.out);
  ASSERT_GE(lines.size(), 2u) << r;
  EXPECT_EQ(lines[0], "* Welcome to enchufe chat! /help lists the commands.");
  EXPECT_TRUE(lines[1].starts_with("* You are guest-")) << r;
  // The room's greeting comes from the room's thread: it may pass the
  // nickname reply, and a client this quick may even miss it (see
  // ChatBasics.QuittingBeforeTheRoomGreetingArrivesIsSafe). Everything else
  // is in order.
  std::vector<std::string> rest(lines.begin() + 2, lines.end());
  const auto room = std::find(rest.begin(), rest.end(), "* you are in general now; /who lists who is here");
  if (room != rest.end()) rest.erase(room);
  EXPECT_EQ(rest, (std::vector<std::string>{"* you are ana now", "* 2 in general: ana, bob", "* bye!"})) << r;
  EXPECT_TRUE(bob.wait_for("[t] <ana> hola desde enchufe connect"));
  EXPECT_EQ(bob.next(), "[t] * ana left (quit)");
}

TEST(ChatServeAll, ChatRunsInServeAllWithTheSharedQuitWord) {
  auto server = Server::start_args({"serve", "all", "--host", "127.0.0.1", "--port", "0", "-q", "--quit-word", "chao"},
                                   {"greet", "echo", "udp-echo", "chat"});
  const auto port = server.port("chat");
  EXPECT_NE(port, server.port("echo"));
  auto ana = ChatClient::connect(port);
  ana->read_welcome();
  auto bob = ChatClient::connect(port);
  bob->read_welcome();
  EXPECT_TRUE(ana->next().ends_with(" joined general"));
  ASSERT_TRUE(bob->send("bob"));
  EXPECT_EQ(bob->next(), "* you are bob now");
  EXPECT_TRUE(ana->next().ends_with(" is now known as bob"));
  ASSERT_TRUE(bob->send("salir"));
  EXPECT_EQ(ana->next(), "[t] <bob> salir");
  ASSERT_TRUE(bob->send("chao"));
  EXPECT_EQ(bob->next(), "* bye!");
  EXPECT_EQ(ana->next(), "[t] * bob left (quit)");
}

TEST(ChatServeAll, ChatPortFlag) {
  const auto held = hold_tcp_port("127.0.0.1");
  const std::string chat_port = std::to_string(held.port);
  // A port we hold: the bind must fail and name it...
  const auto r = run_enchufe({"serve", "all", "--host", "127.0.0.1", "--greet-port", "0", "--echo-port", "0",
                              "--udp-port", "0", "--chat-port", chat_port},
                             RunOptions{"", true, 5000ms});
  EXPECT_FALSE(r.exited_with(0)) << r;
  EXPECT_NE(r.err.find(chat_port), std::string::npos) << r;
  EXPECT_EQ(r.out.find("listening: chat"), std::string::npos) << "no listening lines when a bind fails\n" << r;
}
