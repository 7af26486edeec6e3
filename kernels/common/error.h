// Shared by every layer (kernels throw it too, e.g. for a failed CUDA call).
// Errors a user can cause (a bad file, a wrong shape, a missing device) are thrown as
// hl::Error with a message that says what went wrong and, where it helps, what to do.
// Library code never aborts the process for them.
#pragma once
#include <stdexcept>
#include <string>

namespace hl {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A file that is missing, truncated, malformed or hostile. The message names the file.
class FormatError : public Error {
 public:
  FormatError(const std::string& path, const std::string& problem)
      : Error(path + ": " + problem), path_(path), problem_(problem) {}
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

}  // namespace hl
