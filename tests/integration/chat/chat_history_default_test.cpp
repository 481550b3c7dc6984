// `enchufe serve chat` without --history-db keeps its history where the XDG
// base directories put a program's state: $XDG_STATE_HOME/enchufe/chat.db,
// else $HOME/.local/state/enchufe/chat.db (the folders made as needed). With
// neither variable it does not guess; --history-db none writes nothing.
// The tests that set (or remove) XDG_STATE_HOME themselves get no private
// state folder from the support library; the last test checks that the
// others do.

#include "chat/chat_client.hpp"
#include "support/files.hpp"

#include <filesystem>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

namespace fs = std::filesystem;

class ChatHistoryDefault : public ChatTest {
 protected:
  // The server ends here, while dir_ (its state, destroyed before the
  // fixture's own members) still exists.
  void TearDown() override {
    ChatTest::TearDown();
    server_.reset();
  }

  // `serve chat -q EXTRA...` with `env` ("NAME=value" sets, a bare "NAME" removes).
  void start_with(std::vector<std::string> env, const std::vector<std::string>& extra = {}) {
    ServerOptions options;
    options.spawn.env = std::move(env);
    std::vector<std::string> args{"-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_.emplace(Server::start("chat", args, options));
  }

  // SIGTERM; the server must exit 0 (its history written).
  void stop() {
    const auto stopped = server().stop();
    EXPECT_TRUE(stopped && stopped->is_exit_code(0)) << server().process().diagnostics();
  }

  TempDir dir_;
};

}  // namespace

TEST_F(ChatHistoryDefault, TheFileIsUnderXdgStateHomeAndItsLinesSurviveARestart) {
  const std::string state_home = "XDG_STATE_HOME=" + dir_.path.string();
  ASSERT_FALSE(fs::exists(dir_.path / "enchufe"));
  start_with({state_home});
  EXPECT_TRUE(fs::is_regular_file(dir_.path / "enchufe" / "chat.db")) << server().process().diagnostics();
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("antes del reinicio"));
  EXPECT_EQ(bob.next(), "[t] <ana> antes del reinicio");
  stop();
  forget(ana);
  forget(bob);

  start_with({state_home});
  auto cy = ChatClient::connect(port());
  cy->read_welcome();
  EXPECT_EQ(cy->next(), "* the last 1 message in general:");
  EXPECT_EQ(cy->next(), "[t] <ana> antes del reinicio");
  EXPECT_EQ(cy->drain(), "");
}

TEST_F(ChatHistoryDefault, WithoutXdgStateHomeTheFileIsUnderHome) {
  start_with({"XDG_STATE_HOME", "HOME=" + dir_.path.string()});
  EXPECT_TRUE(fs::is_regular_file(dir_.path / ".local" / "state" / "enchufe" / "chat.db"))
      << server().process().diagnostics();
}

TEST_F(ChatHistoryDefault, WithNeitherVariableItAsksForAFile) {
  const auto r = run_enchufe({"serve", "chat", "--host", "127.0.0.1", "--port", "0"},
                             RunOptions{.env = {"XDG_STATE_HOME", "HOME"}});
  // A UsageError: main() reports it with exit code 2 and a pointer to --help.
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_NE(r.err.find("enchufe: --history-db: no default (neither XDG_STATE_HOME nor HOME is set); give a file, "
                       "or none"),
            std::string::npos)
      << r;
  EXPECT_EQ(r.out.find("listening:"), std::string::npos) << "it bound ports before refusing\n" << r;
}

TEST_F(ChatHistoryDefault, NoneWritesNoFile) {
  start_with({"XDG_STATE_HOME=" + dir_.path.string()}, {"--history-db", "none"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("solo en memoria"));
  EXPECT_EQ(bob.next(), "[t] <ana> solo en memoria");
  stop();
  forget(ana);
  forget(bob);
  EXPECT_TRUE(fs::is_empty(dir_.path)) << fs::directory_iterator(dir_.path)->path();
}

// What every other test relies on: a server the support library starts
// without naming a state folder gets a fresh one (private_state_home), so
// servers running at once do not contend for one file, and nothing lands in
// the home of whoever runs the tests.
TEST_F(ChatHistoryDefault, EachServerOfTheTestsHasAStateFolderOfItsOwn) {
  ServerOptions options;
  options.spawn.env = {"HOME=" + dir_.path.string()};
  auto first = Server::start("chat", {"-q"}, options);
  auto second = Server::start("chat", {"-q"}, options);  // a shared file would refuse it
  EXPECT_TRUE(fs::is_empty(dir_.path)) << fs::directory_iterator(dir_.path)->path();
}
