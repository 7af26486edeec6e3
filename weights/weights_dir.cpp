#include "weights/weights_dir.h"

#include <cstdlib>

#include "engine/error.h"

namespace hl {

namespace fs = std::filesystem;

fs::path weights_dir(const std::string& explicit_dir) {
  if (!explicit_dir.empty()) return explicit_dir;
  if (const char* env = std::getenv("HL_WEIGHTS"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "hl" / "weights";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".local" / "share" / "hl" / "weights";
  throw Error("cannot find a weights folder: pass --weights DIR or set HL_WEIGHTS");
}

fs::path require_weights_file(const std::string& file_name, const std::string& make_hint,
                              const std::string& explicit_dir) {
  const fs::path path = weights_dir(explicit_dir) / file_name;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error("weights file " + path.string() + " not found; create it with: " + make_hint);
  return path;
}

}  // namespace hl
