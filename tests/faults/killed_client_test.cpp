// A client process killed (SIGKILL) while the server has a lot queued for
// it: the kernel resets the connection, the server drops what it owed,
// logs the reset and gives the memory back to its budget.

#include "fault_support.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <sstream>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

// "flooding PORT SENT" / "connected PORT" from enchufe_fault_client.
struct ChildReport {
  std::uint16_t port = 0;
  std::size_t sent = 0;
};
std::optional<ChildReport> read_child_report(Process& child, Duration timeout) {
  const auto line = child.read_stdout_line(timeout);
  if (!line) return std::nullopt;
  std::istringstream in(*line);
  std::string word;
  ChildReport r;
  unsigned port = 0;
  if (!(in >> word >> port)) return std::nullopt;
  r.port = static_cast<std::uint16_t>(port);
  in >> r.sent;
  return r;
}

std::string queues_text(const std::optional<SocketQueues>& q) {
  if (!q) return "?";
  return "rx " + std::to_string(q->rx) + ", tx " + std::to_string(q->tx);
}

}  // namespace

// Echo: the child sends 1,000-byte lines and never reads, until its socket
// stays full (the server stops reading it past 256 KiB of owed replies);
// megabytes are then in flight between the two, then the child is killed.
TEST(KilledClient, EchoClientKilledWithMegabytesInFlight) {
  auto server = FaultServer::start("echo");
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  Process child(fault_client_binary(),
                {"flood", "127.0.0.1", std::to_string(server.port()), "1000", std::to_string(64 << 20)},
                {.pipe_stdin = false});
  const auto report = read_child_report(child, 20'000ms);
  ASSERT_TRUE(report) << child.diagnostics();
  const auto child_side = tcp_queues(report->port, server.port());
  const auto server_side = tcp_queues(server.port(), report->port);
  report_figure("in flight", "child sent " + std::to_string(report->sent) + " bytes; child's socket: " +
                                 queues_text(child_side) + " (rx: replies it never read); server's socket: " +
                                 queues_text(server_side) + " (rx: lines it has not read, tx: replies queued)");
  EXPECT_GE(report->sent, 1u << 20) << "the child should have got megabytes into flight";
  ASSERT_TRUE(server.alive()) << server.diagnostics();

  ASSERT_TRUE(child.send_signal(SIGKILL));
  ASSERT_TRUE(child.wait_exit(kIo));

  const auto line = server.wait_closed_line(report->port, kIo);
  ASSERT_TRUE(line) << "no close logged for the killed client\n" << server.diagnostics();
  EXPECT_NE(line->find(": connection reset by client"), std::string::npos) << *line;
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << "the steady client stalled\n" << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

// Chat: a member that never reads while a talker sends 6 MB to the room.
// With --max-output raised to 32 MiB the server really queues megabytes for
// it (instead of cutting it as too slow), then the member is killed.
TEST(KilledClient, ChatMemberKilledWithMegabytesQueued) {
  // No history file: what is measured is the killed member's share, not
  // the store writing the same 6 MB (its queue and SQLite's own memory).
  auto server = FaultServer::start("chat", {"--history-db", "none", "--flood-rate", "1000000", "--flood-burst",
                                            "1000000", "--max-output", std::to_string(32 << 20)});
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();

  Process child(fault_client_binary(), {"idle", "127.0.0.1", std::to_string(server.port())}, {.pipe_stdin = false});
  const auto report = read_child_report(child, kIo);
  ASSERT_TRUE(report) << child.diagnostics();
  ASSERT_TRUE(server.wait_stderr_line({"connected 127.0.0.1:" + std::to_string(report->port)}, kIo))
      << server.diagnostics();

  auto reader = chat_join(server.port(), "reader");
  auto talker = chat_join(server.port(), "talker");
  MemoryWatch memory(server);

  constexpr int kLines = 2000;
  std::string lines;
  for (int i = 0; i < kLines; ++i) {
    lines += "linea " + std::to_string(i) + " " + std::string(3000, 'm') + "\n";
  }
  ASSERT_TRUE(talker.send_all(lines, 10'000ms));
  // Once the reader has every line, the server has handed each to every
  // member: the killed member's share is queued (kernel or server).
  std::size_t heard = 0;
  const auto deadline = Clock::now() + 15'000ms;
  std::string pending;
  while (heard < kLines && Clock::now() < deadline) {
    const auto r = reader.recv_some(1000ms);
    pending += r.data;
    std::size_t from = 0;
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', from)) {
      if (std::string_view(pending).substr(from, nl - from).find("<talker> linea ") != std::string_view::npos) ++heard;
      from = nl + 1;
    }
    pending.erase(0, from);
  }
  ASSERT_EQ(heard, static_cast<std::size_t>(kLines)) << "the reading member missed lines\n" << server.diagnostics();
  const auto child_side = tcp_queues(report->port, server.port());
  const auto server_side = tcp_queues(server.port(), report->port);
  const std::size_t child_rx = child_side ? child_side->rx : 0;
  const std::size_t server_tx = server_side ? server_side->tx : 0;
  const std::size_t total = lines.size();
  const std::size_t outbox = total - std::min(total, child_rx + server_tx);
  report_figure("queued", "talker sent " + std::to_string(total) + " bytes to the room; for the silent member: " +
                              std::to_string(child_rx) + " in its receive buffer, " + std::to_string(server_tx) +
                              " in the server's send buffer, about " + std::to_string(outbox) +
                              " in the server's queue");
  EXPECT_GE(total - std::min(total, child_rx), 1u << 20)
      << "the server (its send buffer and queue) should hold megabytes for the silent member";
  EXPECT_EQ(server.stderr_count("over --max-output"), 0u) << server.diagnostics();

  ASSERT_TRUE(child.send_signal(SIGKILL));
  ASSERT_TRUE(child.wait_exit(kIo));
  const auto line = server.wait_closed_line(report->port, kIo);
  ASSERT_TRUE(line) << "no close logged for the killed member\n" << server.diagnostics();
  EXPECT_NE(line->find(": connection reset by client"), std::string::npos) << *line;
  // The room hears of it.
  EXPECT_TRUE(reader.recv_until(" left (disconnected)\n", kIo).complete());
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << "the steady pair stalled\n" << server.diagnostics();
  // 6 MB went to the room; far less than that may stay resident.
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}
