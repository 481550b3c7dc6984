#pragma once
// Every bound the servers enforce, in one place, each with the reason it
// exists. Each has a command-line flag (see src/cli/serve_command.cpp).

#include <chrono>
#include <cstddef>

namespace enchufe::net::limits {

using namespace std::chrono_literals;

// --max-line: the longest line a client may send. It bounds the memory one
// connection's unfinished line can hold; no human types 64 KiB on one line.
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

// --max-connections: per server. Each connection costs a descriptor and a few
// hundred bytes; past this the server refuses politely instead of failing
// unpredictably when the process runs out of descriptors.
inline constexpr std::size_t kMaxConnections = 10'000;

// --max-per-address: clients one address (an IPv6 /64) may have open at once
// across a service's doors (the chat's). A person needs a few (a terminal, a
// page or two, a bot); 20 leaves room for a small lab behind one NAT, and it
// takes 500 hosts, not one, to fill --max-connections' 10,000 slots.
inline constexpr std::size_t kMaxPerAddress = 20;

// --connect-rate: new connections a second one address may open on average;
// at once it may open as many as --max-per-address (its burst), so a lab
// connecting together or a page opening its sockets is never refused. A
// person reconnects a few times a minute at most; 10 a second is far above
// that and still stops a script that connects and drops in a loop, each
// accept costing a descriptor, a session and a log line.
inline constexpr double kConnectRate = 10;

// --partial-delay: how long a client may pause after bytes without a newline
// before those bytes count as a whole message. The tutorial's client sends
// "Hola" with no newline and waits for the answer; a line split across TCP
// segments arrives far faster than this, so it is still read as one line.
inline constexpr auto kPartialMessageDelay = 20ms;

// How much one read takes from a socket. The buffer is per thread, not per
// connection, so idle connections hold no read buffer at all.
inline constexpr std::size_t kReadChunkBytes = 64 * 1024;

// Replies waiting for a client that does not read them: past this the server
// stops reading that client (TCP back-pressure) until they drain, so a client
// that only writes cannot make the server buffer without bound.
inline constexpr std::size_t kOutputHighWater = 256 * 1024;

// Closing: after our last byte we shut down our side and discard what the
// client still sends for at most this long, so our final reply is not
// destroyed by a reset caused by unread input (a "lingering close").
inline constexpr auto kLingeringClose = 1s;

// A closing connection (quit, idle timeout, shutdown) gets this long to take
// the replies it is owed; a client that stopped reading loses them instead of
// holding its descriptor forever.
inline constexpr auto kCloseDrainTimeout = 5s;

// SIGINT/SIGTERM: replies already owed get this long to drain before the
// process exits anyway (the promise to users is "exit within 2 s").
inline constexpr auto kShutdownDeadline = 1500ms;

// Accept failing for lack of descriptors (EMFILE/ENFILE): wait before trying
// again, doubling up to the maximum, so the process never spins on a backlog
// it cannot take from.
inline constexpr auto kAcceptBackoffMin = 50ms;
inline constexpr auto kAcceptBackoffMax = 1s;

// HTTP (the web front door, /metrics): a request's start line and headers
// may take this many bytes, as in common servers' defaults. It bounds what a
// client can make one connection hold before it has said what it wants.
inline constexpr std::size_t kMaxHttpHeaderBytes = 8 * 1024;

// HTTP: a request must arrive whole within this long, and a keep-alive
// connection may wait this long for the next one. A slowloris that trickles
// its headers is cut then, so it costs no more than an idle connection.
inline constexpr auto kHttpRequestTimeout = 10s;

// A WebSocket peer that sends nothing for half of this is pinged; one that
// still sends nothing (not even the pong) by the end is gone, and closed.
// A browser answers pings by itself, so an open page stays; a vanished one
// costs its memory for at most this long.
inline constexpr auto kWebSocketIdleTimeout = 60s;

// --max-message: the largest WebSocket message an echo client may send (a
// bigger one is refused with close code 1009). Beast holds a message whole
// before handing it over, so this bounds what one client can make us hold;
// 1 MiB carries any chat line or test payload, and --max-message raises it
// (16 MiB for conformance suites).
inline constexpr std::size_t kWebSocketMaxMessage = 1024 * 1024;

// permessage-deflate (RFC 7692): each negotiating client keeps a compressor
// and a decompressor for the life of its connection (context takeover is what
// makes chat lines compress). zlib's defaults (15 window bits, memLevel 8)
// cost about 256 KiB of compressor per client; 11 bits (a 2 KiB window) and
// memLevel 4 cost tens of KiB and still catch the repetition inside and
// between chat lines. The client's own window is negotiated down to the
// same 11 bits when it offers that (browsers do); docs/web.md has the
// measured cost.
inline constexpr int kDeflateWindowBits = 11;
inline constexpr int kDeflateMemLevel = 4;
// Messages shorter than this go uncompressed: a deflate block's overhead
// would eat the gain.
inline constexpr std::size_t kDeflateMinBytes = 64;

// --tls-handshake-timeout: a TLS client must finish its handshake within
// this long. A stalled handshake holds a descriptor and OpenSSL's state (tens
// of KiB) and serves no one: cut it as a slowloris of HTTP is cut, so it
// costs no more than an idle connection.
inline constexpr auto kTlsHandshakeTimeout = 10s;

// TLS: plaintext staged for one SSL_write. Four full records (16 KiB each)
// per call: fewer calls into OpenSSL for bulk, and small enough to sit in a
// per-thread buffer.
inline constexpr std::size_t kTlsWriteChunkBytes = 64 * 1024;

// The largest UDP payload: 65,535 minus the IPv4 (20) and UDP (8) headers.
inline constexpr std::size_t kMaxUdpPayloadV4 = 65'507;
// IPv6 has no header inside the 65,535 payload-length field.
inline constexpr std::size_t kMaxUdpPayloadV6 = 65'527;

}  // namespace enchufe::net::limits
