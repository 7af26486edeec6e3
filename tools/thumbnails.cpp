// Thumbnails as JPEG data URIs: see thumbnails.h.
#include "tools/thumbnails.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#ifdef HL_HAVE_FFMPEG
#include "engine/media/media.h"
#endif
#ifdef HL_HAVE_STB_IMAGE_WRITE
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>
#endif

namespace hl::thumbnails {

bool available() {
#ifdef HL_HAVE_STB_IMAGE_WRITE
  return true;
#else
  return false;
#endif
}

std::string base64(const std::vector<uint8_t>& bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = bytes[i], b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0, b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string jpeg_data_uri(const uint8_t* rgb, int width, int height, int quality) {
#ifdef HL_HAVE_STB_IMAGE_WRITE
  std::vector<uint8_t> jpeg;
  const auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  if (!stbi_write_jpg_to_func(append, &jpeg, width, height, 3, rgb, quality))
    throw Error("cannot encode a " + std::to_string(width) + "x" + std::to_string(height) + " thumbnail as JPEG");
  return "data:image/jpeg;base64," + base64(jpeg);
#else
  (void)rgb, (void)width, (void)height, (void)quality;
  throw Error("this hl was built without stb_image_write (Debian libstb-dev), so it cannot make thumbnails");
#endif
}

std::vector<std::string> grab(const std::string& video, const std::vector<double>& seconds, int width) {
#ifdef HL_HAVE_FFMPEG
  std::vector<std::string> out;
  if (seconds.empty()) return out;
  const media::MediaInfo info = media::probe(video);
  if (!info.video) throw FormatError(video, "has no video stream");
  const int w = info.video->width > 0 ? info.video->width : width;
  const int h = info.video->height > 0 ? info.video->height : width;
  media::VideoOptions options;
  options.rate = {10, 1};  // ticks every 0.1 s: a thumbnail within 0.1 s of the asked time
  options.width = std::min(width, std::max(2, w)) / 2 * 2;
  options.height = std::max<int>(2, static_cast<int>(std::lround(static_cast<double>(options.width) * h / w / 2.0)) * 2);
  options.scale_flags = "area";
  media::VideoReader reader(video, options);
  media::VideoFrame frame, last;
  bool have_last = false;
  size_t next = 0;
  while (next < seconds.size() && reader.next(&frame)) {
    while (next < seconds.size() && frame.index >= static_cast<int64_t>(std::floor(seconds[next] * 10.0 + 1e-9))) {
      out.push_back(jpeg_data_uri(frame.rgb.data<uint8_t>(), static_cast<int>(frame.rgb.shape()[1]),
                                  static_cast<int>(frame.rgb.shape()[0])));
      ++next;
    }
    last = frame;
    have_last = true;
  }
  while (next < seconds.size() && have_last) {
    out.push_back(jpeg_data_uri(last.rgb.data<uint8_t>(), static_cast<int>(last.rgb.shape()[1]),
                                static_cast<int>(last.rgb.shape()[0])));
    ++next;
  }
  if (out.size() != seconds.size()) throw FormatError(video, "no video frame could be decoded for the thumbnails");
  return out;
#else
  (void)seconds, (void)width;
  throw FormatError(video, "this hl was built without FFmpeg (-DHL_FFMPEG=OFF), so it cannot decode media");
#endif
}

}  // namespace hl::thumbnails
