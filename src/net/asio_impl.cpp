// Asio's implementation, compiled once for the whole project
// (ASIO_SEPARATE_COMPILATION is set for every target in CMakeLists.txt).
#include <asio/impl/src.hpp>
