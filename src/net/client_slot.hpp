#pragma once
// A client's place in its server's counts, from accept until the last object
// serving it ends: one of the --max-connections slots (a count its service's
// doors may share) and, where the service limits addresses, its
// AddressGate ticket. The accept loop makes it; it moves from session to
// session (an HTTP session to its WebSocket, a TLS handshake to the
// service's session) and its destructor gives both back, so no session
// counts by hand and none can forget to.

#include "net/address_gate.hpp"

#include <atomic>
#include <cstddef>
#include <memory>

namespace enchufe::net {

class ClientSlot {
 public:
  // Takes one of `active`'s places now, for a client from `address`.
  ClientSlot(std::shared_ptr<std::atomic<std::size_t>> active, AddressGate::Ticket ticket,
             asio::ip::address address = {})
      : active_(std::move(active)), ticket_(std::move(ticket)), address_(address) {
    active_->fetch_add(1, std::memory_order_relaxed);
  }
  ClientSlot(ClientSlot&&) noexcept = default;  // the moved-from slot holds nothing
  ClientSlot& operator=(ClientSlot&&) = delete;
  ~ClientSlot() {
    if (active_) active_->fetch_sub(1, std::memory_order_relaxed);
  }

  // The client's address, as accept() gave it.
  const asio::ip::address& address() const { return address_; }

 private:
  std::shared_ptr<std::atomic<std::size_t>> active_;
  AddressGate::Ticket ticket_;
  asio::ip::address address_;
};

}  // namespace enchufe::net
