// enchufe chat in the browser: the JSON-over-WebSocket protocol of
// docs/web.md (version 1), with per-room logs, reconnection and input history.
//
// Security rule for this file: text that comes from the network (or from the
// user) reaches the page only through textContent or Element.append(string),
// which never parse markup. No property or call that parses HTML appears
// here at all, so a grep for them finds nothing.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    messages: $("messages"), form: $("form"), input: $("input"),
    rooms: $("rooms"), members: $("members"), memberCount: $("member-count"),
    membersPanel: $("members-panel"), status: $("status"), reconnect: $("reconnect"),
    me: $("me"), room: $("room"),
  };

  const LOBBY = "general";        // where the server puts every new connection
  const QUIT_WORD = "salir";      // the server's default --quit-word
  const MAX_LOG = 1000;           // lines kept per room
  const MAX_SENT = 100;           // lines kept for Up/Down
  const NICK = /^[A-Za-z0-9_.-]{1,24}$/;
  const MAX_RESUME_ROUNDS = 5;    // `/history since` pages (200 lines each) asked after a reconnect
  // Names are ASCII and the server compares them ignoring ASCII case.
  const fold = (s) => String(s).toLowerCase();

  const state = {
    ws: null,
    attempt: 0,          // reconnections since the last welcome: sets the backoff
    timer: 0,
    quitting: false,     // the user said /quit or salir: do not come back by ourselves
    told: false,         // the server said why it is closing: no need to say it again
    me: "",              // our nickname now
    chosenNick: "",      // the last nickname the server confirmed: restored after a reconnect
    awaitingNick: false, // mirrors the server: the first plain line may be taken as a nickname
    autoWho: 0,          // our own /who requests whose answer fills the member list silently
    room: "",            // the room of the last `joined` event
    resume: null,        // after a reconnect, until caught up: {room (folded), since, rounds,
                         // missed, asked, held: live lines waiting for the missed ones}
    rooms: new Map(),    // fold(name) -> {name, entries, keys, pending, unread}
    early: [],           // lines that arrived before the first `joined`
    members: [],
    sent: [], sentPos: 0, draft: "",
    // {nick, password} of the last login or registration: said again after
    // a reconnect (a registered nickname is not had with /nick). In this
    // page's memory only; never stored, never in `sent`.
    account: null,
  };

  // ---- rooms and their logs ------------------------------------------------

  function roomFor(name) {
    const key = fold(name);
    let room = state.rooms.get(key);
    if (!room) {
      // keys: "id|ts" of the lines we hold. The id alone is not enough: a
      // restarted server numbers its lines from 1 again (the stamps differ).
      // pending: our own lines, shown when typed; the server does not send
      // them back live, but does in the history when we come back.
      // lastId: the highest line id received, where a resume goes on from.
      room = { name: String(name), entries: [], keys: new Set(), pending: [], unread: 0, lastId: 0 };
      state.rooms.set(key, room);
    }
    return room;
  }

  const currentRoom = () => (state.room ? roomFor(state.room) : null);

  // Stores a line in a room's log; false when it was already there. Quoted
  // lines (a /history or /search answer) are shown again even if seen.
  function store(room, entry) {
    if (entry.id !== undefined && !entry.quoted) {
      room.lastId = Math.max(room.lastId, entry.id);
      const key = `${entry.id}|${entry.ts}`;
      if (room.keys.has(key)) return false;
      room.keys.add(key);
      if (claimOwn(room, entry)) return false;
    }
    if (entry.pending) room.pending.push(entry);
    room.entries.push(entry);
    if (room.entries.length > MAX_LOG) {
      const old = room.entries.shift();
      old.el?.remove();
      if (old.pending) room.pending.splice(room.pending.indexOf(old), 1);
    }
    return true;
  }

  // A line of ours coming back from the server (in a history) is the one we
  // already show: it only gets its id.
  function claimOwn(room, entry) {
    if (entry.type !== "message" && entry.type !== "action") return false;
    const i = room.pending.findIndex((p) => p.type === entry.type && p.text === entry.text &&
                                            fold(p.nick) === fold(entry.nick));
    if (i < 0) return false;
    const [mine] = room.pending.splice(i, 1);
    mine.id = entry.id;
    mine.pending = false;
    if (mine.el) mine.el.dataset.id = String(entry.id);
    return true;
  }

  // Adds a line to `room` (default: the room on screen) and shows it if that
  // room is on screen, or counts it as unread.
  function add(entry, room = currentRoom()) {
    if (!room) return void state.early.push(entry);
    if (!store(room, entry)) return;
    if (room === currentRoom()) {
      show(entry);
    } else if (entry.type === "message" || entry.type === "action") {
      room.unread += 1;
      renderRooms();
    }
  }

  const info = (text) => add({ type: "info", text });
  const error = (text) => add({ type: "error", text });

  function fromEvent(ev) {
    const entry = { type: ev.type, text: String(ev.text ?? ""), ts: ev.ts };
    if (Number.isInteger(ev.id)) entry.id = ev.id;
    if (ev.nick !== undefined) entry.nick = String(ev.nick);
    if (ev.to !== undefined) entry.to = String(ev.to);
    if (ev.type === "private") entry.out = fold(entry.nick) === fold(state.me);
    return entry;
  }

  // ---- rendering -----------------------------------------------------------

  const pad = (n) => String(n).padStart(2, "0");
  function hhmm(ts) {
    const d = new Date(ts);
    return Number.isNaN(d.getTime()) ? "" : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  // An element with a class and text (as text, never as markup).
  function make(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // The same nickname gets the same colour everywhere (eight classes in the CSS).
  function nickSpan(nick) {
    let h = 0;
    for (const ch of nick) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return make("span", `nick c${h % 8}`, nick);
  }
  const textSpan = (text) => make("span", "text", text);

  function lineElement(e) {
    const el = make("div", `line ${e.type}${e.own ? " own" : ""}${e.quoted ? " quoted" : ""}`);
    if (e.id !== undefined) el.dataset.id = String(e.id);
    if (e.ts) {
      const time = make("time", "", hhmm(e.ts));
      time.dateTime = e.ts;
      time.title = new Date(e.ts).toLocaleString();
      el.append(time);
    }
    switch (e.type) {
      case "message": el.append(nickSpan(e.nick), " ", textSpan(e.text)); break;
      case "action": el.append("* ", nickSpan(e.nick), " ", textSpan(e.text)); break;
      case "private":
        // Ours comes back addressed to the recipient, as on a terminal.
        if (e.out) el.append("-> *", nickSpan(e.to), "* ", textSpan(e.text));
        else el.append("*", nickSpan(e.nick), "* ", textSpan(e.text));
        break;
      case "error": el.append("error: ", textSpan(e.text)); break;
      default: el.append("* ", textSpan(e.text)); break;  // notice, info
    }
    e.el = el;
    return el;
  }

  // Follow new lines only when the reader is at the bottom already.
  const atBottom = () => ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 40;

  function show(entry) {
    const follow = atBottom();
    ui.messages.append(lineElement(entry));
    if (follow) ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function renderMessages() {
    const room = currentRoom();
    // Busy while the whole log is replaced, so screen readers do not read it all.
    ui.messages.setAttribute("aria-busy", "true");
    ui.messages.replaceChildren(...(room ? room.entries.map(lineElement) : []));
    ui.messages.scrollTop = ui.messages.scrollHeight;
    ui.messages.setAttribute("aria-busy", "false");
  }

  function renderRooms() {
    // Rebuilding the buttons must not lose a keyboard user's place.
    const focused = document.activeElement?.dataset?.room;
    const rooms = [...state.rooms.values()].sort((a, b) => fold(a.name).localeCompare(fold(b.name)));
    ui.rooms.replaceChildren(...rooms.map((room) => {
      const button = make("button");
      button.type = "button";
      button.dataset.room = room.name;
      button.append(make("span", "name", room.name));
      if (fold(room.name) === fold(state.room)) button.setAttribute("aria-current", "true");
      if (room.unread > 0) {
        button.append(make("span", "unread", String(room.unread)), make("span", "visually-hidden", " unread"));
      }
      const li = make("li");
      li.append(button);
      return li;
    }));
    if (focused !== undefined) ui.rooms.querySelector(`button[data-room="${CSS.escape(focused)}"]`)?.focus();
  }

  function renderMembers() {
    state.members.sort((a, b) => fold(a).localeCompare(fold(b)));
    ui.members.replaceChildren(...state.members.map((nick) => make("li", fold(nick) === fold(state.me) ? "me" : "", nick)));
    ui.memberCount.textContent = state.members.length ? `(${state.members.length})` : "";
  }

  const removeMember = (nick) => { state.members = state.members.filter((m) => fold(m) !== fold(nick)); };
  const addMember = (nick) => { removeMember(nick); state.members.push(nick); };

  const setStatus = (which, text) => { ui.status.dataset.state = which; ui.status.textContent = text; };
  const setMe = (nick) => { state.me = nick; ui.me.textContent = nick; };

  // ---- the server's events -------------------------------------------------

  function handle(ev) {
    switch (ev.type) {
      case "welcome": {
        state.attempt = 0;
        state.autoWho = 0;
        state.awaitingNick = true;
        setMe(String(ev.nick));
        info(`Welcome to ${ev.server} chat! /help lists the commands.`);
        // After a reconnect: be who we were, where we were.
        if (state.account && fold(state.account.nick) === fold(state.chosenNick)) {
          state.awaitingNick = false;
          sendEvent({ type: "login", nick: state.account.nick, password: state.account.password });
        } else if (state.chosenNick && state.chosenNick !== state.me) {
          state.awaitingNick = false;
          send(`/nick ${state.chosenNick}`);
        } else {
          info(`You are ${state.me}. Type a nickname to take it (e.g. ana), or just start talking.`);
        }
        if (state.room && fold(state.room) !== LOBBY) send(`/join ${state.room}`);
        startResume();
        break;
      }
      case "nick": {
        const old = state.me;
        setMe(String(ev.nick));
        state.chosenNick = state.me;
        state.awaitingNick = false;
        // The room is told, but we are not sent our own notice.
        removeMember(old);
        addMember(state.me);
        renderMembers();
        info(`you are ${state.me} now`);
        break;
      }
      case "joined": joined(ev); break;
      case "message":
      case "action":
      case "notice":
        if (resuming(ev.room)) state.resume.held.push(fromEvent(ev));
        else add(fromEvent(ev), typeof ev.room === "string" ? roomFor(ev.room) : currentRoom());
        if (ev.type === "notice") noticeMembers(ev);
        break;
      case "private": add(fromEvent(ev)); break;
      case "history":
        if (state.resume && fold(ev.room) === state.resume.room) resumed(ev);
        else quote(ev, historyHeader(ev), ev.more ? "more lines: /history shows earlier ones" : "");
        break;
      case "search":
        quote(ev, searchHeader(ev), ev.more ? "more lines match: add words to narrow the search" : "");
        break;
      case "rooms": {
        const rooms = Array.isArray(ev.rooms) ? ev.rooms : [];
        const list = rooms.map((r) => `${r.name} (${r.members})`).join(", ");
        info(`${rooms.length} room${rooms.length === 1 ? "" : "s"}: ${list}`);
        break;
      }
      case "who": {
        const members = Array.isArray(ev.members) ? ev.members.map(String) : [];
        if (state.autoWho > 0) state.autoWho -= 1;
        else info(`${members.length} in ${ev.room}: ${members.join(", ")}`);
        if (fold(ev.room) === fold(state.room)) {
          state.members = members;
          renderMembers();
        }
        break;
      }
      case "info":
        info(String(ev.text ?? ""));
        if (ev.text === "bye!") state.quitting = true;  // also a --quit-word we do not know
        if (/^disconnected/.test(ev.text)) state.told = true;
        break;
      case "error":
        error(String(ev.text ?? ""));
        if (ev.text === "wrong password") state.account = null;
        // A server without history (or too busy): there is nothing to catch
        // up with; what was held back is shown.
        if (/history/.test(String(ev.text)) && state.resume) {
          const held = state.resume.held;
          state.resume = null;
          for (const entry of held) add(entry);
        }
        // A first line taken for a nickname that is taken: the next one is tried too.
        if (/is taken; type another one/.test(String(ev.text))) state.awaitingNick = true;
        break;
      default: break;  // a newer server's event: nothing to show
    }
  }

  function joined(ev) {
    const room = roomFor(ev.room);
    room.name = String(ev.room);
    for (const entry of state.early.splice(0)) store(room, entry);
    store(room, { type: "info", text: `you are in ${room.name} now` });
    // The history repeats what we saw if we were here before: store() skips
    // those. When resuming, what came after is left to the resume, which
    // has the notices too, so that the lines stay in order.
    const resume = state.resume?.room === fold(room.name) ? state.resume : null;
    for (const h of Array.isArray(ev.history) ? ev.history : []) {
      const entry = fromEvent(h);
      if (!resume || !(entry.id > resume.since)) store(room, entry);
    }
    state.room = room.name;
    room.unread = 0;
    ui.room.textContent = room.name;
    document.title = `${room.name} · enchufe chat`;
    state.members = [];
    renderMembers();
    renderRooms();
    renderMessages();
    state.autoWho += 1;
    send("/who");
    // Back where we were before the connection dropped: ask for what we missed.
    if (resume) {
      resume.asked = true;
      send(`/history since ${resume.since}`);
    }
  }

  // ---- history, search and resuming ----------------------------------------

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const linesOf = (ev) => (Array.isArray(ev.lines) ? ev.lines.filter((l) => l && typeof l === "object") : []);

  function historyHeader(ev) {
    const n = linesOf(ev).length;
    return n ? `${plural(n, "earlier line")} in ${ev.room}:` : `no earlier lines in ${ev.room}`;
  }

  function searchHeader(ev) {
    const n = linesOf(ev).length;
    return n ? `${plural(n, "line")} in ${ev.room} with '${ev.text}', newest first:` : `nothing in ${ev.room} has '${ev.text}'`;
  }

  // An answer the user asked for, shown as a block like a terminal's: its
  // lines may be ones already on screen, so they skip the room's dedup.
  function quote(ev, header, hint) {
    const room = typeof ev.room === "string" ? roomFor(ev.room) : currentRoom();
    add({ type: "info", text: header }, room);
    for (const line of linesOf(ev)) add({ ...fromEvent(line), quoted: true }, room);
    if (hint) add({ type: "info", text: hint }, room);
  }

  // A reconnect (not the first connection) in a room whose lines we have
  // seen: once back in it, `/history since` the last one fills the gap.
  function startResume() {
    const room = state.room ? roomFor(state.room) : null;
    state.resume = room && room.lastId > 0
      ? { room: fold(room.name), since: room.lastId, rounds: 0, missed: 0, asked: false, held: [] } : null;
  }

  // Live lines that come while the missed ones are on their way wait for them.
  const resuming = (name) => Boolean(state.resume?.asked) && fold(name) === state.resume.room;

  // The lines after our last one, oldest first: the room's continuation (the
  // join's replay may have brought some already; store() skips those).
  function resumed(ev) {
    const resume = state.resume;
    const room = roomFor(ev.room);
    const lines = linesOf(ev).map(fromEvent).filter((e) => e.id > resume.since);
    for (const entry of lines) add(entry, room);
    resume.missed += lines.length;
    resume.rounds += 1;
    if (ev.more && lines.length && resume.rounds < MAX_RESUME_ROUNDS) {
      resume.since = lines[lines.length - 1].id;
      send(`/history since ${resume.since}`);
      return;
    }
    state.resume = null;
    add({ type: "info", text: `caught up: ${plural(resume.missed, "line")} you missed` }, room);
    if (ev.more) add({ type: "info", text: "some lines were skipped: /history since an id shows them" }, room);
    for (const entry of resume.held) add(entry, room);
  }

  function noticeMembers(ev) {
    if (fold(ev.room) !== fold(state.room) || typeof ev.nick !== "string") return;
    if (ev.what === "joined") addMember(ev.nick);
    else if (ev.what === "left") removeMember(ev.nick);
    else if (ev.what === "renamed" && typeof ev.to === "string") {
      removeMember(ev.nick);
      addMember(ev.to);
    } else return;
    renderMembers();
  }

  // ---- what the user types -------------------------------------------------

  function sendEvent(event) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(event));
    return true;
  }

  const send = (text) => sendEvent({ type: "line", text });

  // "/login NICK PASSWORD", "/nick NICK PASSWORD" and "/register PASSWORD"
  // go as events of their own (docs/web.md), so that the password is in
  // neither the lines sent nor the input's history; null for other lines.
  function accountEvent(line) {
    let m = /^\/(?:login|nick)\s+(\S+)\s+(\S[\s\S]*?)\s*$/i.exec(line);
    if (m) return { type: "login", nick: m[1], password: m[2] };
    m = /^\/register\s+(\S[\s\S]*?)\s*$/i.exec(line);
    if (m) return { type: "register", password: m[1] };
    return null;
  }

  // The server does not send our own messages back, so we show them as the
  // server will take them (the rules of parse_command in commands.cpp).
  function echo(line) {
    const trimmed = line.trim();
    if (fold(trimmed) === QUIT_WORD) {
      state.quitting = true;
      return;
    }
    let type = "message";
    let text = line;
    if (line.startsWith("/") && !line.startsWith("//")) {
      const m = /^\/(\S+)\s*([\s\S]*)$/.exec(line);
      if (!m) return;
      const name = fold(m[1]);
      const args = m[2].trim();
      if (name === "quit") state.quitting = true;
      if (name === "nick" && /^\S+$/.test(args)) state.awaitingNick = false;
      if (name !== "me" || !args) return;  // a command: the server answers it
      type = "action";
      text = args;
    } else {
      if (line.startsWith("//")) text = line.slice(1);
      if (!trimmed) return;
      if (state.awaitingNick) {
        state.awaitingNick = false;
        // Taken as our nickname: a `nick` event (or an error, and we wait again).
        if (NICK.test(trimmed)) return;
      }
    }
    add({ type, nick: state.me, text, ts: new Date().toISOString(), own: true, pending: true });
  }

  function remember(line) {
    if (state.sent[state.sent.length - 1] !== line) state.sent.push(line);
    if (state.sent.length > MAX_SENT) state.sent.shift();
    state.sentPos = state.sent.length;
    state.draft = "";
  }

  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const line = ui.input.value;
    if (!line.trim()) return;
    const account = accountEvent(line);
    if (account) {
      if (!sendEvent(account)) {
        error("not connected: not sent (it is still in the box)");
        return;
      }
      state.account = { nick: account.nick ?? state.me, password: account.password };
      state.awaitingNick = false;
      ui.input.value = "";
      return;
    }
    if (!send(line)) {
      error("not connected: the line was not sent (it is still in the box)");
      return;
    }
    remember(line);
    ui.input.value = "";
    echo(line);
  });

  // Up and Down walk through the lines sent before, like a shell.
  ui.input.addEventListener("keydown", (ev) => {
    if (ev.isComposing || ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    if (ev.key === "ArrowUp" && state.sentPos > 0) {
      if (state.sentPos === state.sent.length) state.draft = ui.input.value;
      state.sentPos -= 1;
    } else if (ev.key === "ArrowDown" && state.sentPos < state.sent.length) {
      state.sentPos += 1;
    } else {
      return;
    }
    ev.preventDefault();
    ui.input.value = state.sentPos === state.sent.length ? state.draft : state.sent[state.sentPos];
    ui.input.setSelectionRange(ui.input.value.length, ui.input.value.length);
  });

  ui.rooms.addEventListener("click", (ev) => {
    const button = ev.target.closest("button[data-room]");
    if (!button) return;
    // The server moves us; the `joined` event switches the view.
    if (fold(button.dataset.room) !== fold(state.room) && !send(`/join ${button.dataset.room}`)) {
      error("not connected: cannot change rooms now");
    }
  });

  // ---- the connection ------------------------------------------------------

  function connect() {
    clearTimeout(state.timer);
    state.quitting = false;
    state.told = false;
    ui.reconnect.hidden = true;
    setStatus("connecting", state.attempt ? "reconnecting…" : "connecting…");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws`);
    let opened = false;
    state.ws = ws;
    ws.addEventListener("open", () => { opened = true; setStatus("open", "connected"); });
    ws.addEventListener("message", (msg) => {
      if (state.ws !== ws) return;
      let ev;
      try {
        ev = JSON.parse(msg.data);
      } catch {
        error("the server sent something that is not JSON");
        return;
      }
      if (ev && typeof ev === "object") handle(ev);
    });
    ws.addEventListener("close", (ev) => {
      if (state.ws !== ws) return;
      state.ws = null;
      closed(ev, opened);
    });
  }

  const CLOSE_CODES = {
    1001: "the server is going away", 1003: "the server does not take binary frames",
    1006: "the connection was lost", 1007: "a frame was not valid UTF-8",
    1008: "policy violation", 1009: "a message was too big", 1011: "server error",
  };

  function closed(ev, opened) {
    state.members = [];
    renderMembers();
    // A failed attempt while the server is down says nothing: the status does.
    if (opened && !state.quitting) {
      const why = ev.reason || CLOSE_CODES[ev.code] || "closed";
      if (![1000, 1001, 1006].includes(ev.code)) error(`disconnected: ${why} (code ${ev.code})`);
      else if (!state.told) info(`disconnected: ${why}`);
    }
    if (state.quitting) {
      setStatus("closed", "left");
      ui.reconnect.hidden = false;
      return;
    }
    // 0.5 s doubling to 30 s; the jitter keeps a restarted server from
    // getting every page back in the same instant.
    const base = Math.min(30000, 500 * 2 ** state.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    state.attempt += 1;
    setStatus("connecting", `reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
    state.timer = setTimeout(connect, delay);
  }

  ui.reconnect.addEventListener("click", () => {
    state.attempt = 0;
    connect();
    ui.input.focus();
  });

  // Back online: no need to wait for the backoff.
  window.addEventListener("online", () => { if (!state.ws && !state.quitting) connect(); });

  // On a phone the member list starts folded, leaving the screen to the messages.
  if (window.matchMedia("(max-width: 700px)").matches) ui.membersPanel.open = false;

  renderMembers();
  connect();
  ui.input.focus();
})();
