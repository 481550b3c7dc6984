// The compiled parts of the Boost libraries we use, compiled once for the
// whole project instead of in every translation unit (and instrumented with
// the rest under the sanitizers): Asio (BOOST_ASIO_SEPARATE_COMPILATION is set
// for every target in CMakeLists.txt) with its OpenSSL glue, JSON and URL
// (their header-only mode).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
