// Fuzzes the `enchufe stats` HTTP response parser with whatever a server (or
// anything listening on that port) may answer. fetch() parses after every
// read and acts on the first verdict, so a verdict must not depend on how the
// bytes were split into reads, nor change once the connection ends.
#include "stats/http.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

using enchufe::stats::HttpResponse;

struct Verdict {
  std::optional<HttpResponse> response;
  std::string error;  // empty with no response: read more
  bool undecided() const { return !response && error.empty(); }
};

Verdict parse(std::string_view raw, bool at_eof) {
  Verdict v;
  v.response = enchufe::stats::parse_http_response(raw, at_eof, v.error);
  return v;
}

bool same(const HttpResponse& a, const HttpResponse& b) {
  return a.status == b.status && a.reason == b.reason && a.headers == b.headers && a.body == b.body;
}

// The same response, or both errors (whose messages may quote what was read).
bool same(const Verdict& a, const Verdict& b) {
  if (a.response && b.response) return same(*a.response, *b.response);
  return !a.error.empty() && !b.error.empty();
}

// Whether `part` is `whole` with some bytes left out.
bool subsequence(std::string_view part, std::string_view whole) {
  std::size_t at = 0;
  for (const char c : whole) {
    if (at < part.size() && part[at] == c) ++at;
  }
  return at == part.size();
}

void check(const Verdict& v, std::string_view raw) {
  if (!v.response) return;
  if (!v.error.empty()) std::abort();
  if (v.response->status < 100 || v.response->status > 999) std::abort();
  // The body is what follows the head (up to the first empty line), with the
  // chunk framing, if any, taken out: no byte is made up or used twice.
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos || !subsequence(v.response->body, raw.substr(head_end + 4))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const Verdict open = parse(raw, false);
  const Verdict closed = parse(raw, true);
  check(open, raw);
  check(closed, raw);
  // At the end of the stream there is nothing more to read: a verdict is due,
  // and one reached before stays.
  if (closed.undecided()) std::abort();
  if (!open.undecided() && !same(open, closed)) std::abort();
  // Cut the stream at a few points: a prefix that decides decides for all.
  for (std::size_t k = 1; k < 8; ++k) {
    const std::string_view prefix = raw.substr(0, size * k / 8);
    const Verdict early = parse(prefix, false);
    check(early, prefix);
    if (!early.undecided() && !same(early, open)) std::abort();
  }
  return 0;
}
