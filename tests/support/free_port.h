#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zkelect::test {

// Picks `count` distinct TCP ports that are free on 127.0.0.1 right now: each
// is found by binding 127.0.0.1:0 and reading the port back; all sockets stay
// open until every port is picked, so the ports differ from one another. The
// ports are released before returning, so another process could take one
// before the caller binds it (rare: the kernel's bind(0) and connect() draw
// from different halves of the ephemeral range). Aborts if no port can be had.
std::vector<uint16_t> PickFreePorts(size_t count);

// One free port on 127.0.0.1; see PickFreePorts.
uint16_t PickFreePort();

}  // namespace zkelect::test
