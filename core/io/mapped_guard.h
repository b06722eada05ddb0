// Memory-mapped files can shrink under a running process (another program truncates or
// rewrites a weights file in place); touching a page past the new end raises SIGBUS,
// which would kill genlens without a word. Mappings registered here are watched by a
// SIGBUS handler that names the file, the offset and what happened, then exits with
// status 1 (the same as any other error; every output genlens writes is atomic or
// append-and-resume, so nothing already written is lost). A SIGBUS at an address that
// no registered mapping holds keeps its default meaning (the process dies as before).
#pragma once
#include <cstddef>
#include <string>

namespace genlens::io {

// Watches [addr, addr + size) as the mapping of `path` (installs the handler on first use).
// At most 4096 mappings are watched at once; beyond that the extra ones are not named.
void watch_mapping(const void* addr, size_t size, const std::string& path);
void unwatch_mapping(const void* addr);

}  // namespace genlens::io
