#pragma once
// How enchufe starts coroutines: errors at I/O edges are values (use_tuple),
// and an exception escaping a coroutine is a bug that gets logged, never
// silently swallowed as asio::detached would.

#include "net/asio.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <utility>

namespace enchufe::net {

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Logs the exception that ended a coroutine (defined in log.cpp).
void report_coroutine_exception(std::exception_ptr e);

template <typename Executor, typename F>
void spawn(const Executor& executor, F&& coroutine_factory) {
  asio::co_spawn(executor, std::forward<F>(coroutine_factory), [](std::exception_ptr e) {
    if (e) report_coroutine_exception(e);
  });
}

}  // namespace enchufe::net
