// Writing a file so that readers never see it half-written: the data goes to a
// temporary file beside the target, is flushed to disk, and is renamed over the target.
// On any failure (or when commit() is never called) the temporary is removed and an
// existing file at the target is left exactly as it was. Used by every writer of
// outputs a long job depends on (feature files, checkpoints, reports).
//
// A file-size limit (ulimit -f) makes a write fail with EFBIG once the tools ignore
// SIGXFSZ (tools/cli_common.cpp does for every hl tool); a program that does not is
// killed by that signal instead, as the kernel does by default.
#pragma once
#include <cstddef>
#include <string>

namespace hl {

class AtomicFile {
 public:
  // Creates "<target>.tmp.<pid>.<n>" exclusively (never following a link someone else
  // planted there). Throws hl::Error naming the target and the system's reason.
  explicit AtomicFile(std::string target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(const std::string& text) { write(text.data(), text.size()); }
  // fsync, close, rename over the target, fsync the folder (best effort).
  void commit();

  const std::string& target() const { return target_; }
  const std::string& temp_path() const { return temp_; }

 private:
  // Closes and removes the temporary (unless committed).
  void discard() noexcept;
  // Removes the temporary, then throws hl::FormatError naming the target, what failed
  // and why (EFBIG, a file-size limit, and ENOSPC are spelt out).
  [[noreturn]] void fail(const std::string& what, int err);
  std::string target_;
  std::string temp_;
  int fd_ = -1;
  bool created_ = false;  // the temporary exists and is ours
  bool committed_ = false;
};

// The whole of `text` into `path`, atomically.
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace hl
