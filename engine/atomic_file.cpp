#include "engine/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "engine/error.h"

namespace hl {

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
  // Unique per process and call, so two threads writing the same target never share a
  // temporary; O_EXCL refuses to reuse (or follow a link at) a name that exists.
  static std::atomic<uint64_t> counter{0};
  temp_ = target_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int e = errno;
    fail("cannot create the temporary file " + temp_, e);
  }
  created_ = true;
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, std::min<size_t>(n, size_t{1} << 30));
    if (w < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      fail("cannot write " + temp_, e);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) {
    const int e = errno;
    fail("cannot flush " + temp_ + " to disk", e);
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int e = errno;
    fail("cannot close " + temp_, e);
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    const int e = errno;
    fail("cannot rename " + temp_ + " into place", e);
  }
  committed_ = true;
  // Make the rename durable too. Best effort: the new file is complete and visible, so
  // a failure here is not a failed write.
  const std::string dir = std::filesystem::path(target_).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  // Only a temporary this object created: after a failed exclusive create, the name
  // is someone else's.
  if (created_ && !committed_) ::unlink(temp_.c_str());
  created_ = false;
}

void AtomicFile::fail(const std::string& what, int err) {
  // The temporary goes now, not only in the destructor, so that no "*.tmp.*" file is
  // left even if the caller ends the process without unwinding.
  const bool removed = created_ && !committed_;
  discard();
  std::string reason = std::strerror(err);
  if (err == EFBIG)
    reason += " (the file-size limit, see ulimit -f, or the largest file the file system allows was reached)";
  else if (err == ENOSPC || err == EDQUOT)
    reason += " (the disk or the user's quota is full)";
  if (!committed_)
    reason += std::string(removed ? "; the temporary file was removed and " : "; ") + target_ + " was not changed";
  throw FormatError(target_, what + ": " + reason);
}

void write_text_atomic(const std::string& path, const std::string& text) {
  AtomicFile file(path);
  file.write(text);
  file.commit();
}

}  // namespace hl
