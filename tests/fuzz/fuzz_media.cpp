// libFuzzer target for media probing and decoding (engine/media/media.h): every input
// is a file handed to media::probe; when it is accepted, up to 16 frames of its video
// (at 32x32) and its first audio stream are decoded too. hl::Error is the only outcome
// allowed besides success: anything else (another exception, a crash, a leak,
// undefined behaviour, a hang past libFuzzer's -timeout) is a finding.
//
// The probe API takes a path (only local regular files; FFmpeg's own I/O through the
// `file` protocol), so the bytes go to an in-memory file (memfd) that is opened as
// /proc/self/fd/N: no disk I/O, nothing to clean up. The caps are small so that one
// input costs milliseconds: 1 Mpixel frames, 60 s of output, 2 s deadline.
//
// Built as a fuzzer by tests/fuzz/CMakeLists.txt (HL_FUZZ=ON, clang); compiled without
// libFuzzer into test_media, whose MediaFuzzCorpusReplay tests run the seed corpus
// (tests/fuzz/corpus/media, made by tests/fuzz/make_media_seed_corpus.sh).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/error.h"
#include "engine/media/media.h"

namespace {

// The in-memory file every input is written to, and its path.
const std::string& memory_file_with(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("hl-fuzz-media", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ::ftruncate(fd, 0) != 0) throw hl::Error("fuzz_media: cannot make the in-memory file");
  size_t done = 0;
  while (done < size) {
    const ssize_t w = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (w <= 0) throw hl::Error("fuzz_media: cannot write the in-memory file");
    done += static_cast<size_t>(w);
  }
  return path;
}

hl::media::Limits fuzz_limits() {
  hl::media::Limits l;
  l.max_pixels = 1024 * 1024;
  l.max_audio_seconds = 60;
  l.max_video_seconds = 60;
  l.deadline_seconds = 2;
  l.probe_bytes = 1 << 20;
  l.decoder_threads = 1;  // reproducible, and libFuzzer runs one input at a time
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static volatile uint64_t sink = 0;
  try {
    const std::string& path = memory_file_with(data, size);
    const hl::media::Limits limits = fuzz_limits();
    const hl::media::MediaInfo info = hl::media::probe(path, limits);
    if (info.video) {
      hl::media::VideoOptions vo;
      vo.width = 32;
      vo.height = 32;
      vo.scale_flags = "fast_bilinear";
      vo.queue_frames = 2;
      vo.limits = limits;
      hl::media::VideoReader reader(path, vo);
      hl::media::VideoFrame f;
      for (int i = 0; i < 16 && reader.next(&f); ++i) sink = sink + f.rgb.data<uint8_t>()[i % (32 * 32 * 3)];
    }
    if (!info.audio.empty()) {
      hl::media::AudioOptions ao;
      ao.limits = limits;
      const hl::media::Audio a = hl::media::decode_audio(path, ao);
      sink = sink + static_cast<uint64_t>(a.samples.numel());
    }
  } catch (const hl::Error&) {
    // A refused or damaged file: the expected outcome for most inputs.
  }
  return 0;
}
