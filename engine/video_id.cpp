#include "engine/video_id.h"

#include "engine/error.h"
#include "engine/text_file.h"

namespace hl {

std::string video_id_problem(std::string_view id) {
  if (id.empty()) return "is empty";
  if (id.size() > kMaxVideoIdBytes)
    return "is " + std::to_string(id.size()) + " bytes long, more than the limit of " +
           std::to_string(kMaxVideoIdBytes);
  if (id == "." || id == "..") return "is not a file name";
  if (id.front() == ' ' || id.back() == ' ') return "starts or ends with a space";
  for (size_t i = 0; i < id.size();) {
    uint32_t cp = 0;
    const size_t len = utf8_sequence(id, i, &cp);
    if (len == 0) return "is not valid UTF-8 text";
    if (is_control_character(cp)) return "contains a control character";
    if (cp == '/' || cp == '\\') return "contains '/' or '\\' (an id names a file inside a folder)";
    if (cp == ',' || cp == '"') return "contains ',' or '\"' (ids are written to CSV files unquoted)";
    i += len;
  }
  return "";
}

void validate_video_id(std::string_view id, const std::string& where) {
  const std::string problem = video_id_problem(id);
  if (!problem.empty()) throw FormatError(where, "video id " + quoted_for_message(id) + " " + problem);
}

}  // namespace hl
