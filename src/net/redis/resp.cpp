#include "net/redis/resp.hpp"

#include <hiredis/hiredis.h>

#include <stdexcept>

namespace enchufe::net::redis {

namespace {

Reply::Type type_of(int hiredis_type) {
  switch (hiredis_type) {
    case REDIS_REPLY_STRING: return Reply::Type::string;
    case REDIS_REPLY_ARRAY: return Reply::Type::array;
    case REDIS_REPLY_INTEGER: return Reply::Type::integer;
    case REDIS_REPLY_STATUS: return Reply::Type::status;
    case REDIS_REPLY_ERROR: return Reply::Type::error;
    default: return Reply::Type::nil;
  }
}

Reply copy(const redisReply& from) {
  Reply to;
  to.type = type_of(from.type);
  switch (to.type) {
    case Reply::Type::string:
    case Reply::Type::status:
    case Reply::Type::error: to.text.assign(from.str, from.len); break;
    case Reply::Type::integer: to.integer = from.integer; break;
    case Reply::Type::array:
      to.elements.reserve(from.elements);
      for (std::size_t i = 0; i < from.elements; ++i) to.elements.push_back(copy(*from.element[i]));
      break;
    case Reply::Type::nil: break;
  }
  return to;
}

template <typename Args>
void append(std::string& out, const Args& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (std::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* framed = nullptr;
  const int length = redisFormatCommandArgv(&framed, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (length < 0) throw std::bad_alloc();
  out.append(framed, static_cast<std::size_t>(length));
  redisFreeCommand(framed);
}

}  // namespace

std::string_view Reply::kind() const {
  if (type != Type::array || elements.empty() || elements.front().type != Type::string) return {};
  return elements.front().text;
}

Reply local_error(std::string text) {
  Reply reply;
  reply.type = Reply::Type::error;
  reply.text = std::move(text);
  return reply;
}

void ReplyReader::Free::operator()(redisReader* reader) const { redisReaderFree(reader); }

ReplyReader::ReplyReader() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
}

ReplyReader::~ReplyReader() = default;

void ReplyReader::reset() {
  reader_.reset(redisReaderCreate());
  if (!reader_) throw std::bad_alloc();
}

void ReplyReader::feed(std::string_view bytes) {
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    throw std::runtime_error(reader_->errstr[0] != '\0' ? reader_->errstr : "cannot buffer the reply");
  }
}

std::optional<Reply> ReplyReader::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    throw std::runtime_error(std::string("not the Redis protocol: ") + reader_->errstr);
  }
  if (raw == nullptr) return std::nullopt;
  const std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw), freeReplyObject);
  return copy(*reply);
}

void append_command(std::string& out, std::initializer_list<std::string_view> args) { append(out, args); }
void append_command(std::string& out, const std::vector<std::string_view>& args) { append(out, args); }

}  // namespace enchufe::net::redis
