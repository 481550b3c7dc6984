#include "services/chat/hub.hpp"

#include "services/chat/cluster/stream_history.hpp"
#include "services/chat/cluster/wire.hpp"
#include "services/chat/names.hpp"
#include "services/chat/sanitize.hpp"
#include "services/chat/session.hpp"

#include "net/asio.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace enchufe::services::chat {

namespace {

constexpr std::string_view kLobby = "general";

// Guest names tried for a member whose name another node has, before it
// keeps the last one and leaves the rest to the heartbeat.
constexpr int kGuestTries = 5;

}  // namespace

ChatHub::ChatHub(net::Runtime& runtime, ChatOptions options, std::shared_ptr<HistoryStore> store,
                 std::unique_ptr<moderation::Store> moderation_store)
    : runtime_(runtime),
      options_(std::move(options)),
      store_(std::move(store)),
      loops_(runtime.size()),
      moderation_(std::make_shared<moderation::Moderation>(options_.moderation, std::move(moderation_store))) {
  if (options_.cluster.shards.empty()) return;
  // The hub outlives the loops (it is destroyed after they have stopped),
  // so the bus may call it back on them.
  bus_ = cluster::Bus::start(
      runtime_, options_.cluster,
      {.heard = [this](RoomId room, std::shared_ptr<ChatLine> line, std::uint64_t sender,
                       bool keep) { home_settle(room, std::move(line), sender, keep); },
       .touch = [this](RoomId room, bool in_touch) { home_touch(room, in_touch); },
       // Sent on another node to the nickname this session had then: dropped
       // if it has another now (like a line to a member who left).
       .private_heard = [this](std::uint64_t session,
                               std::shared_ptr<ChatLine> line) { deliver_private(fold(line->to), session, line); },
       .moderation_heard = [this](std::string_view payload) { moderation_heard(payload); },
       .moderation_listening = [this] { moderation_reload(); }});
  store_ = std::make_shared<cluster::StreamHistory>(*bus_);
  directory_ = std::make_shared<cluster::Directory>(
      runtime_, *bus_, options_.cluster,
      cluster::Directory::Hooks{.members_here =
                                    [this] {
                                      std::vector<cluster::Directory::Entry> out;
                                      for (const auto& [id, session] : here().sessions) {
                                        out.push_back(directory_entry(*session));
                                      }
                                      return out;
                                    },
                                .lost = [this](std::uint64_t session,
                                               const std::string& nick_key) { nick_lost(session, nick_key, kGuestTries); }});
  directory_->start();
  runtime_.on_stop([bus = bus_, directory = directory_] {
    directory->stop();
    bus->stop();
  });
}

ChatHub::LoopState& ChatHub::here() { return loops_[net::Loop::current()->index()]; }

// ---- names ------------------------------------------------------------------

namespace {

// A clustered guest's number is drawn at random, so that nodes do not all
// hand out guest-1, guest-2...; the rare one another node has is replaced.
std::uint64_t random_guest_number() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_int_distribution<std::uint64_t>(1, 999'999)(generator);
}

std::string taken(std::string_view nick) { return fmt::format("nickname '{}' is taken", nick); }

}  // namespace

ChatSession* ChatHub::session_here(std::uint64_t id) {
  auto& sessions = here().sessions;
  auto it = sessions.find(id);
  return it == sessions.end() ? nullptr : it->second;
}

std::string ChatHub::free_guest_name_locked() {
  for (;;) {
    std::string nick = fmt::format("guest-{}", directory_ ? random_guest_number() : next_guest_++);
    if (!members_.contains(nick)) return nick;  // else someone renamed themselves so
  }
}

std::string ChatHub::add_guest(ChatSession& session) {
  here().sessions[session.id()] = &session;
  std::string nick;
  {
    std::lock_guard lock(directory_mutex_);
    nick = free_guest_name_locked();
    members_[nick] = {nick, net::Loop::current()->index(), session.id(), 0, session.address()};
  }
  if (directory_) claim_guest({nick, session.id(), {}, {}}, kGuestTries);
  return nick;
}

cluster::Directory::Entry ChatHub::directory_entry(const ChatSession& session) const {
  if (!session.in_room()) return {session.nick(), session.id(), {}, {}};
  return {session.nick(), session.id(), fold(session.current_room()), session.current_room()};
}

void ChatHub::claim_guest(const cluster::Directory::Entry& guest, int tries) {
  directory_->claim(guest, {},
                    [this, id = guest.session, key = fold(guest.nick), tries](cluster::Directory::Claim result,
                                                                              const std::string&) {
                      // Unreachable: the heartbeat registers it once Redis is back.
                      if (result == cluster::Directory::Claim::taken) nick_lost(id, key, tries - 1);
                    });
}

void ChatHub::nick_lost(std::uint64_t session_id, const std::string& nick_key, int tries) {
  ChatSession* session = session_here(session_id);
  if (session == nullptr || fold(session->nick()) != nick_key) return;  // gone, or renamed since
  const std::string old = session->nick();
  std::string guest;
  {
    std::lock_guard lock(directory_mutex_);
    guest = free_guest_name_locked();
    rename_locked(old, guest);
  }
  session->renamed_by_server(guest,
                             fmt::format("your nickname {} is held by someone on another server; you are {} now", old, guest));
  if (tries > 0) claim_guest(directory_entry(*session), tries);
}

std::optional<std::string> ChatHub::rename_locked(const std::string& from, std::string_view to) {
  const std::string old_key = fold(from), new_key = fold(to);
  if (new_key != old_key && members_.contains(new_key)) return taken(to);
  auto node = members_.extract(old_key);
  if (node.empty()) return std::string("you are not registered (a bug)");
  node.key() = new_key;
  node.mapped().nick = std::string(to);
  const RoomId room = node.mapped().room;
  members_.insert(std::move(node));
  if (auto key = room_keys_.find(room); key != room_keys_.end()) {
    auto& room_members = rooms_.at(key->second).members;
    room_members.erase(old_key);
    room_members[new_key] = std::string(to);
  }
  return std::nullopt;
}

void ChatHub::rename(ChatSession& session, std::string_view to, bool first_line) {
  if (!valid_nickname(to)) {
    session.nick_answered(std::string(to),
                          fmt::format("'{}' is not a valid nickname: 1-{} letters, digits, '_', '-' or '.'",
                                      sanitized(to.substr(0, 40)), kMaxNicknameLength),
                          first_line);
    return;
  }
  if (const std::string key = fold(to); key != session.account() && moderation_->registered(key)) {
    session.nick_answered(std::string(to),
                          fmt::format("nickname '{}' is registered; if it is yours: /login {} PASSWORD", to, to),
                          first_line);
    return;
  }
  if (!directory_) {
    std::optional<std::string> problem;
    {
      std::lock_guard lock(directory_mutex_);
      problem = rename_locked(session.nick(), to);
    }
    session.nick_answered(std::string(to), problem, first_line);
    return;
  }
  {
    // Taken here: no need to ask the others.
    std::lock_guard lock(directory_mutex_);
    if (fold(to) != fold(session.nick()) && members_.contains(fold(to))) {
      session.nick_answered(std::string(to), taken(to), first_line);
      return;
    }
  }
  auto wanted = directory_entry(session);
  wanted.nick = std::string(to);
  directory_->claim(wanted, session.nick(),
                    [this, wanted, first_line](cluster::Directory::Claim result, const std::string&) {
                      ChatSession* s = session_here(wanted.session);
                      if (s == nullptr) {
                        if (result == cluster::Directory::Claim::done) directory_->release(wanted);
                        return;
                      }
                      // Unreachable: the name is this node's to give meanwhile, and
                      // the heartbeat registers it once Redis is back (or, if another
                      // node's member took it meanwhile, gives this one a guest name).
                      std::optional<std::string> problem;
                      if (result == cluster::Directory::Claim::taken) {
                        problem = taken(wanted.nick);
                      } else {
                        std::lock_guard lock(directory_mutex_);
                        problem = rename_locked(s->nick(), wanted.nick);
                      }
                      s->nick_answered(wanted.nick, problem, first_line);
                    });
}

void ChatHub::remove(ChatSession& session) {
  here().sessions.erase(session.id());
  {
    std::lock_guard lock(directory_mutex_);
    members_.erase(fold(session.nick()));
  }
  if (directory_) directory_->release({session.nick(), session.id(), {}, {}});
}

std::vector<std::pair<std::string, std::size_t>> ChatHub::rooms() const {
  std::vector<std::pair<std::string, std::size_t>> out;
  {
    std::lock_guard lock(directory_mutex_);
    for (const auto& [key, room] : rooms_) out.emplace_back(room.name, room.members.size());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ChatHub::who(RoomId room) const {
  std::vector<std::string> out;
  std::lock_guard lock(directory_mutex_);
  if (auto key = room_keys_.find(room); key != room_keys_.end()) {
    for (const auto& [folded, nick] : rooms_.at(key->second).members) out.push_back(nick);
  }
  return out;
}

namespace {
// Said under a list that counts only this server's members.
std::string only_here(const std::string& why) {
  return fmt::format("only this server's members: the other servers cannot be asked just now ({})", why);
}
}  // namespace

// The union of what Redis lists and what this server knows: a member of
// this node whose entry Redis has not had yet (it was away) is still here.
void ChatHub::list_who(ChatSession& session) {
  auto local = who(session.room());
  if (!directory_) {
    session.listed_who(local, {});
    return;
  }
  directory_->who(fold(session.current_room()), [this, id = session.id(), seq = session.join_seq(),
                                              local = std::move(local)](auto all, const std::string& why) mutable {
    ChatSession* s = session_here(id);
    if (s == nullptr || s->join_seq() != seq) return;  // gone, or in another room
    if (!all) {
      s->listed_who(local, only_here(why));
      return;
    }
    std::map<std::string, std::string> merged;  // folded -> nick
    for (auto* list : {&local, &*all}) {
      for (auto& nick : *list) merged.emplace(fold(nick), std::move(nick));
    }
    std::vector<std::string> out;
    for (auto& [key, nick] : merged) out.push_back(std::move(nick));
    s->listed_who(out, {});
  });
}

void ChatHub::list_rooms(ChatSession& session) {
  auto local = rooms();
  if (!directory_) {
    session.listed_rooms(local, {});
    return;
  }
  directory_->rooms([this, id = session.id(), local = std::move(local)](auto all, const std::string& why) mutable {
    ChatSession* s = session_here(id);
    if (s == nullptr) return;
    if (!all) {
      s->listed_rooms(local, only_here(why));
      return;
    }
    // folded -> name, members: the larger count wins (this node's members
    // are in Redis's count unless they were away from it).
    std::map<std::string, std::pair<std::string, std::size_t>> merged;
    for (auto* list : {&local, &*all}) {
      for (auto& [name, count] : *list) {
        auto [at, fresh] = merged.try_emplace(fold(name), name, count);
        if (!fresh) at->second.second = std::max(at->second.second, count);
      }
    }
    std::vector<std::pair<std::string, std::size_t>> out;
    for (auto& [key, room] : merged) out.push_back(std::move(room));
    s->listed_rooms(out, {});
  });
}

// ---- rooms --------------------------------------------------------------------

std::variant<ChatHub::Joined, std::string> ChatHub::join(ChatSession& session, std::string_view typed) {
  const std::string_view name = room_name(typed);
  if (!valid_room_name(name)) {
    return fmt::format("'{}' is not a valid room name: 1-{} letters, digits, '_', '-' or '.'",
                       sanitized(typed.substr(0, 40)), kMaxRoomNameLength);
  }
  const std::string key = fold(name);
  const std::string nick_key = fold(session.nick());
  if (const auto ban = moderation_->ban_for(key, session.address(), session.account())) {
    return "you are banned from " + std::string(name) +
           (ban->reason.empty() ? std::string() : " (" + ban->reason + ")");
  }
  Joined joined;
  bool made = false;
  {
    std::lock_guard lock(directory_mutex_);
    auto room = rooms_.find(key);
    if (room == rooms_.end()) {
      if (rooms_.size() >= options_.max_rooms) {
        return fmt::format("there are already {} rooms (the most this server allows); join one of them",
                           rooms_.size());
      }
      const RoomId id = next_room_id_++;
      // Its creator is its first operator (general is everyone's: admins
      // run it).
      const std::uint64_t creator = key == kLobby ? 0 : session.id();
      room = rooms_.emplace(key, RoomEntry{id, std::string(name), {}, creator}).first;
      room_keys_[id] = key;
      made = creator != 0;
    }
    room->second.members[nick_key] = session.nick();
    members_.at(nick_key).room = room->second.id;
    joined = {room->second.id, room->second.name};
  }
  // Logged in: for good (a room made again later keeps its operators).
  if (made && !session.account().empty()) moderation_->set_op(key, session.account(), true, session.nick());
  return joined;
}

void ChatHub::subscribe(ChatSession& session, const Joined& joined) {
  if (directory_) directory_->joined(directory_entry(session));
  const std::size_t loop = net::Loop::current()->index();
  on_loop(home_of(joined.id), [this, room = joined.id, name = joined.name, loop, id = session.id(),
                                seq = session.join_seq()] { home_join(room, name, loop, id, seq); });
}

void ChatHub::leave(ChatSession& session, RoomId room) {
  if (directory_) directory_->left(session.nick(), fold(session.current_room()));
  auto& members = here().members[room];
  if (auto it = std::find(members.begin(), members.end(), &session); it != members.end()) {
    *it = members.back();
    members.pop_back();
  }
  if (members.empty()) here().members.erase(room);

  bool room_gone = false;
  {
    std::lock_guard lock(directory_mutex_);
    if (auto key = room_keys_.find(room); key != room_keys_.end()) {
      auto& entry = rooms_.at(key->second);
      entry.members.erase(fold(session.nick()));
      if (entry.creator == session.id()) entry.creator = 0;
      if (entry.members.empty() && entry.name != kLobby) {
        rooms_.erase(key->second);
        room_keys_.erase(key);
        room_gone = true;
      }
    }
  }
  const std::size_t loop = net::Loop::current()->index();
  on_loop(home_of(room), [this, room, loop, room_gone] {
    home_leave(room, loop);
    if (!room_gone) return;
    here().homes.erase(room);
    if (bus_) bus_->close(room);
  });
}

void ChatHub::home_join(RoomId room, const std::string& name, std::size_t loop, std::uint64_t session_id,
                        std::uint64_t seq) {
  RoomHome& home = here().homes[room];
  const bool made = home.members_per_loop.empty();
  if (made) {
    home.name = name;
    home.members_per_loop.resize(loops_.size());
    if (bus_) bus_->open(room, fold(name), name);
  }
  ++home.members_per_loop[loop];
  // A room made again (after a restart, or after it emptied) replays what
  // the store kept, once it answers, and goes on numbering from its last line.
  const bool load = made && store_;
  if (load) home.loading = true;
  // The history as of now goes back to the joiner's loop; any later line
  // this home loop forwards there is posted after it, so the joiner sees
  // each line once: in the history or live.
  when_loaded(home, [this, room, loop, session_id, seq] {
    auto found = here().homes.find(room);
    if (found == here().homes.end()) return;
    const RoomHome& home = found->second;
    on_loop(loop, [this, room, name = home.name, session_id, seq,
                   history = std::vector<SharedLine>(home.history.begin(), home.history.end())] {
      ChatSession* session = session_here(session_id);
      // Gone, or already elsewhere: its leave() has undone the count.
      if (session == nullptr || session->join_seq() != seq) return;
      here().members[room].push_back(session);
      session->joined(name, history);
    });
  });
  if (load) {
    store_->load_recent(fold(name), options_.history,
                        [this, room](RecentLines recent) { home_loaded(room, std::move(recent)); });
  }
}

void ChatHub::when_loaded(RoomHome& home, std::function<void()> then) {
  if (home.loading) {
    home.after_load.push_back(std::move(then));
  } else {
    then();
  }
}

void ChatHub::home_loaded(RoomId room, RecentLines recent) {
  auto found = here().homes.find(room);
  if (found == here().homes.end()) return;  // emptied meanwhile
  RoomHome& home = found->second;
  // Fewer than asked for: the store had no more messages.
  if (recent.lines.empty()) {
    home.forgotten_up_to = recent.last_id;
  } else if (recent.lines.size() >= options_.history) {
    home.forgotten_up_to = recent.lines.front()->id - 1;
  }
  for (auto& line : recent.lines) {
    line->room = home.name;  // as this node shows it
    encode(*line, {options_.local_time});
    home.history.push_back(std::move(line));
  }
  home.next_line_id = std::max(home.next_line_id, recent.last_id + 1);
  home.loading = false;
  // The joins and resumes that waited, then the lines heard meanwhile.
  for (auto& then : std::exchange(home.after_load, {})) then();
}

void ChatHub::home_leave(RoomId room, std::size_t loop) {
  auto home = here().homes.find(room);
  if (home != here().homes.end() && home->second.members_per_loop[loop] > 0) --home->second.members_per_loop[loop];
}

// ---- lines ------------------------------------------------------------------

void ChatHub::broadcast(RoomId room, std::shared_ptr<ChatLine> line, std::uint64_t sender_id, bool keep) {
  on_loop(home_of(room), [this, room, line = std::move(line), sender_id, keep]() mutable {
    home_broadcast(room, line, sender_id, keep);
  });
}

void ChatHub::home_broadcast(RoomId room, std::shared_ptr<ChatLine>& draft, std::uint64_t sender_id, bool keep) {
  auto found = here().homes.find(room);
  if (found == here().homes.end()) return;  // the room emptied meanwhile
  if (bus_) {
    // Numbered by Redis, where the room's order is decided for every node;
    // it comes back through home_settle().
    bus_->publish(room, std::move(draft), sender_id, keep, found->second.next_line_id - 1);
    return;
  }
  // Numbered here, where the room's order is decided.
  draft->id = found->second.next_line_id;
  home_settle(room, std::move(draft), sender_id, keep);
}

void ChatHub::home_settle(RoomId room, std::shared_ptr<ChatLine> draft, std::uint64_t sender_id, bool keep) {
  auto found = here().homes.find(room);
  if (found == here().homes.end()) return;  // the room emptied meanwhile
  RoomHome& home = found->second;
  if (draft->id >= home.next_line_id) home.next_line_id = draft->id + 1;
  draft->room_id = room;
  encode(*draft, {options_.local_time});  // once for all its recipients
  const SharedLine line = std::move(draft);
  // A line a node out of touch showed only to its members has no number
  // the store could keep it under.
  const bool stored = store_ && line->id != 0 && store_->append(line);
  if (home.loading) {
    // After the store's lines (a line it has too is not shown again).
    home.after_load.push_back([this, room, line, sender_id, keep] {
      auto found = here().homes.find(room);
      if (found == here().homes.end()) return;
      RoomHome& home = found->second;
      if (line->id != 0 && !home.history.empty() && line->id <= home.history.back()->id) return;
      fan_out(home, line, sender_id, keep);
    });
    return;
  }
  if (store_ && store_->sync() == HistorySync::full && (stored || !home.waiting.empty())) {
    // Out once written (home_settled), in the room's order.
    home.waiting.push_back({line, sender_id, keep, !stored});
    return;
  }
  fan_out(home, line, sender_id, keep);
}

void ChatHub::home_touch(RoomId room, bool in_touch) {
  auto found = here().homes.find(room);
  if (found == here().homes.end()) return;
  auto notice = notice_line(found->second.name, NoticeWhat::none, {}, {},
                            in_touch ? std::string("this server is back in touch with the others: lines reach "
                                                   "every member again")
                                     : std::string("this server lost touch with the others: lines said here reach "
                                                   "only its members, and theirs do not come, until it is back"));
  home_settle(room, std::move(notice), 0, false);
}

void ChatHub::fan_out(RoomHome& home, const SharedLine& line, std::uint64_t sender_id, bool keep) {
  if (keep) {
    home.history.push_back(line);
    if (home.history.size() > options_.history) {
      home.forgotten_up_to = home.history.front()->id;
      home.history.pop_front();
    }
  }
  const RoomId room = line->room_id;
  for (std::size_t loop = 0; loop < home.members_per_loop.size(); ++loop) {
    if (home.members_per_loop[loop] == 0) continue;
    on_loop(loop, [this, room, line, sender_id] { deliver_local(room, line, sender_id); });
  }
}

void ChatHub::wait_for_store() {
  if (!store_ || store_->sync() != HistorySync::full) return;
  store_->on_settled([weak = weak_from_this()](std::vector<SharedLine> lines) {
    const auto hub = weak.lock();
    if (!hub) return;
    // One post per home loop with lines in this batch.
    std::vector<std::vector<SharedLine>> per_home(hub->loops_.size());
    for (auto& line : lines) per_home[hub->home_of(line->room_id)].push_back(std::move(line));
    for (std::size_t loop = 0; loop < per_home.size(); ++loop) {
      if (per_home[loop].empty()) continue;
      asio::post(hub->runtime_.loop(loop).context(),
                 [hub, settled = std::move(per_home[loop])] { hub->home_settled(settled); });
    }
  });
}

void ChatHub::home_settled(const std::vector<SharedLine>& lines) {
  for (const auto& line : lines) {
    auto found = here().homes.find(line->room_id);
    if (found == here().homes.end()) continue;  // the room emptied meanwhile
    RoomHome& home = found->second;
    auto& waiting = home.waiting;
    if (waiting.empty() || waiting.front().line != line) continue;  // a room made again
    waiting.front().released = true;
    // This line, and those after it the store could not take.
    while (!waiting.empty() && waiting.front().released) {
      const Waiting next = std::move(waiting.front());
      waiting.pop_front();
      fan_out(home, next.line, next.sender_id, next.keep);
    }
  }
}

void ChatHub::deliver_local(RoomId room, const SharedLine& line, std::uint64_t sender_id) {
  auto members = here().members.find(room);
  if (members == here().members.end()) return;
  for (ChatSession* session : members->second) {
    if (session->id() != sender_id) session->deliver(line);
  }
}

void ChatHub::ask_history(ChatSession& session, HistoryQuery query) {
  const Stamp stamp{options_.local_time};
  store_->query(query, [weak = weak_from_this(), stamp, asked = query, loop = net::Loop::current()->index(),
                        session_id = session.id(), seq = session.join_seq()](HistoryPage page) mutable {
    const auto hub = weak.lock();
    if (!hub) return;
    for (auto& line : page.lines) encode(*line, stamp);  // here, off the loops
    asio::post(hub->runtime_.loop(loop).context(),
               [hub, session_id, seq, asked = std::move(asked), page = std::move(page)] {
                 ChatSession* session = hub->session_here(session_id);
                 if (session != nullptr && session->join_seq() == seq) session->history_page(asked, page);
               });
  });
}

void ChatHub::resume(ChatSession& session, RoomId room, std::uint64_t since) {
  const std::size_t loop = net::Loop::current()->index();
  on_loop(home_of(room), [this, room, since, loop, session_id = session.id(), seq = session.join_seq()] {
    home_resume(room, since, loop, session_id, seq);
  });
}

void ChatHub::home_resume(RoomId room, std::uint64_t since, std::size_t loop, std::uint64_t session_id,
                          std::uint64_t seq) {
  std::vector<SharedLine> missed;
  std::uint64_t skipped = 0;
  if (auto found = here().homes.find(room); found != here().homes.end()) {
    RoomHome& home = found->second;
    if (home.loading) {
      // What the store has comes first.
      when_loaded(home, [=, this] { home_resume(room, since, loop, session_id, seq); });
      return;
    }
    // An id this room has not reached: its numbering started again (a
    // restart without a store), so all it holds is new to the client.
    if (since >= home.next_line_id) since = 0;
    for (const auto& line : home.history) {
      if (line->id > since) missed.push_back(line);
    }
    // Ids count every room line, notices too: those before what is kept.
    if (home.forgotten_up_to > since) skipped = home.forgotten_up_to - since;
  }
  // Posted like a line: the lines this home fans out later follow it.
  on_loop(loop, [this, session_id, seq, since, missed = std::move(missed), skipped] {
    ChatSession* session = session_here(session_id);
    if (session != nullptr && session->join_seq() == seq) session->resumed(since, missed, skipped);
  });
}

void ChatHub::send_private(ChatSession& session, std::string_view nick, std::shared_ptr<ChatLine> line) {
  if (auto found = deliver_private(fold(nick), 0, line); found || !directory_) {
    session.private_answered(nick, found, line->text);
    return;
  }
  // Not a member of this node: the directory finds the node that has it.
  directory_->send_private(std::string(nick), cluster::to_wire(*line, options_.cluster.node_name, session.id(), 0, false),
                           [this, id = session.id(), typed = std::string(nick), text = line->text](
                               std::optional<std::string> recipient, const std::string& why) {
                             ChatSession* s = session_here(id);
                             if (s == nullptr) return;
                             if (!recipient && !why.empty()) {
                               s->error(fmt::format(
                                   "private messages cannot reach the other servers just now ({})", why));
                               return;
                             }
                             s->private_answered(typed, recipient, text);
                           });
}

std::optional<std::string> ChatHub::deliver_private(const std::string& key, std::uint64_t session,
                                                    std::shared_ptr<ChatLine> line) {
  std::size_t loop;
  std::uint64_t session_id;
  std::string found;
  {
    std::lock_guard lock(directory_mutex_);
    auto it = members_.find(key);
    if (it == members_.end() || (session != 0 && it->second.session_id != session)) return std::nullopt;
    loop = it->second.loop;
    session_id = it->second.session_id;
    found = it->second.nick;
  }
  line->to = found;
  encode(*line, {options_.local_time});
  if (store_) store_->append(line);  // kept only with --store-private
  on_loop(loop, [this, session_id, line = SharedLine(std::move(line))] {
    if (ChatSession* s = session_here(session_id)) s->deliver(line);
  });
  return found;
}

}  // namespace enchufe::services::chat
