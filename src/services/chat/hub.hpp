#pragma once
// The chat's shared state and how messages travel between threads.
//
// No lock on the message path. Every room has a home loop (its id modulo the
// number of loops) that alone keeps the room's history and knows which loops
// have members. A line goes from the sender's loop to the room's home loop,
// which numbers it, encodes it once per kind of client (text and JSON),
// appends it to the history and posts the one immutable line to each loop
// with members; each loop hands it to its local members. Posts between two loops are delivered in order, so every member
// sees one sender's lines in the order they were sent, exactly once, and all
// members of a room see the room's lines in the same order.
//
// Names (unique nicknames, rooms and their members, who is where) change
// rarely; they live in a directory under a mutex, off the message path, and
// with --cluster also in Redis, for every node (cluster/directory.hpp).

#include "net/outbox.hpp"
#include "services/chat/cluster/bus.hpp"
#include "services/chat/cluster/directory.hpp"
#include "services/chat/commands.hpp"
#include "services/chat/history_store.hpp"
#include "services/chat/moderation/moderation.hpp"
#include "services/chat/lines.hpp"
#include "net/runtime.hpp"

#include <boost/asio/post.hpp>
#include "services/chat/options.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace enchufe::services::chat {

class ChatSession;
using RoomId = std::uint32_t;

class ChatHub : public std::enable_shared_from_this<ChatHub> {
 public:
  // `store`: where room lines are kept beyond memory (none: in memory only);
  // with --cluster, Redis streams instead (cluster/stream_history.hpp).
  // `moderation_store`: where accounts and bans are kept (none: bans last
  // until the restart, and accounts are refused).
  ChatHub(net::Runtime& runtime, ChatOptions options, std::shared_ptr<HistoryStore> store = nullptr,
          std::unique_ptr<moderation::Store> moderation_store = nullptr);
  // With --history-sync full, lines reach their room once the store has
  // them: hooks the hub to the store (once it is owned by a shared_ptr).
  void wait_for_store();

  const ChatOptions& options() const { return options_; }

  // --- names (on the session's loop) ---

  // A new client: registers a free "guest-N" name for it (clustered: a
  // random N, claimed across the nodes; one taken there is replaced).
  std::string add_guest(ChatSession& session);
  // Renames the session to `to`; its nick_answered() runs on its loop with
  // nothing (renamed) or an error sentence: at once, or once the other
  // nodes have been asked (clustered).
  void rename(ChatSession& session, std::string_view to, bool first_line);
  // A client leaving the server (after leave()).
  void remove(ChatSession& session);
  // --cluster's side (nullptr without it).
  const std::shared_ptr<cluster::Bus>& cluster() const { return bus_; }
  // This server's rooms with their member counts, sorted by name.
  std::vector<std::pair<std::string, std::size_t>> rooms() const;
  // This server's members of a room, sorted.
  std::vector<std::string> who(RoomId room) const;
  // /rooms and /who, counting every node when clustered: the session's
  // listed_rooms() or listed_who() runs on its loop.
  void list_rooms(ChatSession& session);
  void list_who(ChatSession& session);

  // --- rooms (on the session's loop) ---

  struct Joined {
    RoomId id;
    std::string name;  // as first created
  };
  // Joins `room` in the directory (creating it if needed), or returns an
  // error sentence when the room cannot be made. The caller has bumped its
  // join_seq(), then calls subscribe() to start receiving.
  std::variant<Joined, std::string> join(ChatSession& session, std::string_view room);
  // Starts the lines of a joined room: the session's joined() runs on its
  // loop with the history, then live lines follow (possibly before
  // subscribe() returns, when the room's home is this loop).
  void subscribe(ChatSession& session, const Joined& joined);
  void leave(ChatSession& session, RoomId room);

  // Sends a line to everyone in the room but `sender_id`; kept in the
  // history when `keep` (messages, not notices). The room's home numbers
  // and encodes it.
  void broadcast(RoomId room, std::shared_ptr<ChatLine> line, std::uint64_t sender_id, bool keep);
  // Sends a private line to one user, on this node or (clustered) another;
  // the session's private_answered() runs on its loop with their nickname
  // as they spell it, or nothing if there is no such user.
  void send_private(ChatSession& session, std::string_view nick, std::shared_ptr<ChatLine> line);

  // --- accounts and moderation (on the session's loop; hub_moderation.cpp) ---

  moderation::Moderation& moderation() { return *moderation_; }
  // Why a new client from `address` is refused before anything is done for
  // it (a server-wide ban), or nothing; any thread (the accept loops').
  std::optional<std::string> refusal_for(const asio::ip::address& address) const;
  // /register and /login: hashed on the moderation worker; the session is
  // told on its loop.
  void register_account(ChatSession& session, std::string_view password);
  void login(ChatSession& session, std::string_view nick, std::string_view password);
  // /op, /deop, /kick, /ban, /unban, /bans, /mute, /unmute, /topic,
  // /ratelimit and /wall: refused, with a sentence, to whoever may not.
  void moderate(ChatSession& session, const Command& command);
  // Is the session an operator of its room (or an admin)?
  bool operates(const ChatSession& session) const;

  // --- history (on the session's loop) ---

  bool has_store() const { return store_ != nullptr; }
  // Asks the store; the session's history_page() runs on its loop with the
  // answer, unless it has left the room (or the server) meanwhile.
  void ask_history(ChatSession& session, HistoryQuery query);
  // /resume: the session's resumed() runs on its loop with the room's lines
  // after line `since` that its home still holds, and how many lines after
  // `since` it no longer holds, before any later line.
  void resume(ChatSession& session, RoomId room, std::uint64_t since);

 private:
  struct Member {
    std::string nick;
    std::size_t loop;
    std::uint64_t session_id;
    RoomId room = 0;
    asio::ip::address address;  // for bans by address
  };
  struct RoomEntry {
    RoomId id;
    std::string name;
    std::map<std::string, std::string> members;  // folded -> display nick
    // Its creator's session, an operator while it stays in the room
    // (registered and logged in: for good, moderation's ops); 0: none.
    std::uint64_t creator = 0;
  };
  // A member by nickname (a copy, taken under the directory's mutex).
  std::optional<Member> find_member(std::string_view nick) const;
  // Runs `f(session)` on the member's loop if it is still there, after the
  // lines of its room sent before (it goes by way of the room's home, as
  // they do): the room's notice of a kick comes before the kick.
  void on_member(const Member& member, std::function<void(ChatSession&)> f);
  // Sends the members a new ban covers out of its room (or the server).
  // From any thread.
  void enforce(const moderation::Ban& ban);
  // A change another node published (clustered): applied here, and a ban
  // enforced on this node's members.
  void moderation_heard(std::string_view payload);
  // The node listens to the changes (again): reads them all anew.
  void moderation_reload();
  void announce(const ChatSession& session, std::string text);
  void ban(ChatSession& session, const Command& command);
  void unban(ChatSession& session, const Command& command);
  void kick(ChatSession& session, const Command& command);
  void mute(ChatSession& session, const Command& command, bool on);
  void op(ChatSession& session, const Command& command, bool on);
  void topic(ChatSession& session, const Command& command);
  void ratelimit(ChatSession& session, const Command& command);
  void wall(ChatSession& session, const Command& command);
  void list_bans(ChatSession& session);
  // After a login: the session takes `nick`, whoever else had it (this
  // owner's old connection) becoming a guest.
  void logged_in(std::uint64_t session_id, const std::string& nick);
  // The local half of logged_in(), once the cluster's directory (if any)
  // has given the name to the session.
  void take_account_nick(ChatSession& session, const moderation::Account& account);
  // Per loop, touched only by that loop's thread.
  // A line numbered and handed to the store, waiting for it to be written
  // before it is fanned out (--history-sync full).
  struct Waiting {
    SharedLine line;
    std::uint64_t sender_id;
    bool keep;
    bool released;  // the store could not take it: it goes out in its turn
  };
  struct RoomHome {  // on the room's home loop
    std::string name;
    std::vector<std::uint32_t> members_per_loop;
    std::deque<SharedLine> history;
    // The newest line no longer in `history`: a resume from before it has
    // missed lines that only the store can show.
    std::uint64_t forgotten_up_to = 0;
    std::uint64_t next_line_id = 1;
    std::deque<Waiting> waiting;
    // The store is asked for the room's last lines: joins, resumes and the
    // lines heard meanwhile wait for its answer (in after_load, in order).
    bool loading = false;
    std::vector<std::function<void()>> after_load;
  };
  struct LoopState {
    std::unordered_map<std::uint64_t, ChatSession*> sessions;
    std::unordered_map<RoomId, std::vector<ChatSession*>> members;
    std::unordered_map<RoomId, RoomHome> homes;
  };

  std::size_t home_of(RoomId room) const { return room % loops_.size(); }
  LoopState& here();
  // A session of this loop, or nullptr if it has left.
  ChatSession* session_here(std::uint64_t id);

  // Under the directory's mutex: moves a member to another nickname (and
  // in its room's list); an error sentence if it cannot be had.
  std::optional<std::string> rename_locked(const std::string& from, std::string_view to);
  // Under the directory's mutex: a guest name no member of this server has.
  std::string free_guest_name_locked();
  // Clustered: the session's nickname (folded: `nick_key`) is another
  // node's; it becomes a new guest name, claimed in turn (`tries` more
  // times if that one is taken too).
  void nick_lost(std::uint64_t session_id, const std::string& nick_key, int tries);
  void claim_guest(const cluster::Directory::Entry& guest, int tries);
  // Delivers a private line to this node's member with the folded nickname
  // `key` (and, if not 0, that session); returns the nickname as spelled,
  // which becomes the line's `to`, or nothing if there is no such member.
  std::optional<std::string> deliver_private(const std::string& key, std::uint64_t session,
                                             std::shared_ptr<ChatLine> line);
  cluster::Directory::Entry directory_entry(const ChatSession& session) const;
  template <typename F>
  void on_loop(std::size_t loop, F&& f);

  void home_join(RoomId room, const std::string& name, std::size_t loop, std::uint64_t session_id,
                 std::uint64_t seq);
  void home_leave(RoomId room, std::size_t loop);
  void when_loaded(RoomHome& home, std::function<void()> then);
  void home_loaded(RoomId room, RecentLines recent);
  void home_resume(RoomId room, std::uint64_t since, std::size_t loop, std::uint64_t session_id, std::uint64_t seq);
  void home_broadcast(RoomId room, std::shared_ptr<ChatLine>& line, std::uint64_t sender_id, bool keep);
  // A numbered line (by this home, or by the cluster; 0: out of touch)
  // kept, stored and fanned out.
  void home_settle(RoomId room, std::shared_ptr<ChatLine> line, std::uint64_t sender_id, bool keep);
  // The cluster lost or regained touch with the room: its members are told.
  void home_touch(RoomId room, bool in_touch);
  void fan_out(RoomHome& home, const SharedLine& line, std::uint64_t sender_id, bool keep);
  void home_settled(const std::vector<SharedLine>& lines);
  void deliver_local(RoomId room, const SharedLine& line, std::uint64_t sender_id);

  net::Runtime& runtime_;
  const ChatOptions options_;
  std::shared_ptr<HistoryStore> store_;  // set once, in the constructor
  std::vector<LoopState> loops_;
  std::shared_ptr<cluster::Bus> bus_;  // --cluster: lines go through Redis
  std::shared_ptr<cluster::Directory> directory_;  // --cluster: names and presence in Redis
  std::shared_ptr<moderation::Moderation> moderation_;

  mutable std::mutex directory_mutex_;
  std::unordered_map<std::string, Member> members_;       // folded nick ->
  std::unordered_map<std::string, RoomEntry> rooms_;      // folded name ->
  std::unordered_map<RoomId, std::string> room_keys_;     // id -> folded name
  RoomId next_room_id_ = 0;
  std::uint64_t next_guest_ = 1;
};

// Runs `f` on `loop`: now if this is it, else posted there (after what
// was posted before). From any thread (a moderation change comes on the
// moderation worker's).
template <typename F>
void ChatHub::on_loop(std::size_t loop, F&& f) {
  if (const net::Loop* here = net::Loop::current(); here != nullptr && here->index() == loop) {
    f();
  } else {
    asio::post(runtime_.loop(loop).context(), std::forward<F>(f));
  }
}

}  // namespace enchufe::services::chat
