#include "pipeline/shard.h"

#include <optional>
#include <string_view>

#include "engine/error.h"
#include "engine/fnv1a.h"
#include "engine/parse_number.h"

namespace hl {

Shard parse_shard(const std::string& text) {
  Shard s;
  const size_t slash = text.find('/');
  const std::optional<int64_t> index = slash == std::string::npos ? std::nullopt
                                       : parse_integer(std::string_view(text).substr(0, slash));
  const std::optional<int64_t> count = slash == std::string::npos ? std::nullopt
                                       : parse_integer(std::string_view(text).substr(slash + 1));
  if (index) s.index = *index;
  if (count) s.count = *count;
  if (!index || !count || s.count < 1 || s.index < 0 || s.index >= s.count)
    throw Error("--shard '" + text + "': expected I/N with 0 <= I < N (e.g. 0/4 ... 3/4)");
  return s;
}

bool in_shard(const std::string& id, const Shard& shard) {
  return fnv1a64(id) % static_cast<uint64_t>(shard.count) == static_cast<uint64_t>(shard.index);
}

}  // namespace hl
