// Helpers for the media tests: making small media files with the ffmpeg command line
// (lavfi sources) and reading everything a VideoReader gives.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/media/media.h"
#include "support/test_support.h"

namespace hl::test {

// The ffmpeg program found at configure time ("" if none).
std::string ffmpeg_cli();

// Skips the test visibly when the ffmpeg command line is missing.
#define HL_REQUIRE_FFMPEG_CLI()                                                              \
  do {                                                                                       \
    if (::hl::test::ffmpeg_cli().empty()) GTEST_SKIP() << "the ffmpeg command line is not installed"; \
  } while (0)

// Runs `ffmpeg -hide_banner -loglevel error -nostdin -y ARGS...`; the test fails (and the
// output is printed) if it does not exit 0. Returns what it wrote to stdout.
std::string run_ffmpeg(const std::vector<std::string>& args);

// Makes `path` from lavfi sources: `inputs` are lavfi graphs (each becomes one input),
// `extra` are output options (codecs, maps...).
void make_media(const std::string& path, const std::vector<std::string>& inputs,
                const std::vector<std::string>& extra);

struct DecodedVideo {
  std::vector<media::VideoFrame> frames;
};
DecodedVideo read_all(const std::string& path, const media::VideoOptions& options = {});

// The message of the hl::FormatError that `f` throws ("" and a test failure if none).
template <typename F>
std::string format_error_of(F&& f) {
  try {
    f();
  } catch (const FormatError& e) {
    std::printf("  FormatError: %s\n", e.what());  // the test log shows what a user would see
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected hl::FormatError, got another exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected hl::FormatError, nothing was thrown";
  return "";
}

// Whether `text` contains `part` (with both in the failure message).
inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

}  // namespace hl::test
