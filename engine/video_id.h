// Video ids: the names that join a label file, a feature file DIR/<id>.safetensors and
// the predictions. An id comes from untrusted text (a CSV row, a file name), and it is
// turned into a path, printed in messages and written back into CSV files unquoted, so
// every reader checks it with validate_video_id, and everything that builds a path
// from an id calls it again (a path must never leave its folder).
//
// A valid id is 1 to 200 bytes of UTF-8 text without:
//   - '/' or '\' (a path inside or outside the folder), nor the ids "." and "..";
//   - control characters (U+0000-U+001F, U+007F-U+009F: they rewrite terminals);
//   - ',' or '"' (the predictions CSV the tools write does not quote its ids);
//   - a space at the start or the end (invisible in tables, a frequent CSV typo).
// 200 bytes leave room in the usual 255-byte limit of a file name for ".safetensors"
// and the temporary suffix of an atomic write.
#pragma once
#include <string>
#include <string_view>

namespace hl {

inline constexpr size_t kMaxVideoIdBytes = 200;

// Why `id` is not a valid video id, or "" when it is.
std::string video_id_problem(std::string_view id);

// Throws hl::FormatError("<where>: video id <shown>: <problem>") for an invalid id.
// `where` names the source, e.g. "labels.csv:12".
void validate_video_id(std::string_view id, const std::string& where);

}  // namespace hl
