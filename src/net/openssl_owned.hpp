#pragma once
// OpenSSL objects held by unique_ptrs that free them with OpenSSL's own
// function, and the memory-BIO chores every TLS file here needs: PEM text
// in, printed text out.

#include <openssl/bio.h>

#include <memory>
#include <string>
#include <string_view>

namespace enchufe::net::tls {

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
// e.g. Owned<X509, X509_free>.
template <typename T, auto Free>
using Owned = std::unique_ptr<T, Freer<Free>>;

using Bio = Owned<BIO, BIO_free_all>;

// A read-only BIO over `text`, which must outlive it.
inline Bio memory_bio(std::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Everything written so far to a memory BIO (BIO_s_mem); "" for null.
inline std::string memory_text(BIO* bio) {
  char* data = nullptr;
  const long size = bio != nullptr ? BIO_get_mem_data(bio, &data) : 0;
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace enchufe::net::tls
