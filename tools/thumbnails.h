// Thumbnails of chosen highlight segments for report.html (hl-highlights): one frame per
// segment, decoded by engine/media, scaled to a small width and encoded as a JPEG data
// URI so that the report needs no other file and makes no request.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hl::thumbnails {

// True when this build can encode JPEGs (stb_image_write was found at configure time).
bool available();

// "data:image/jpeg;base64,..." of an RGB image u8 [height, width, 3], rows packed.
std::string jpeg_data_uri(const uint8_t* rgb, int width, int height, int quality = 80);

// RFC 4648 base64 with padding.
std::string base64(const std::vector<uint8_t>& bytes);

// The frame shown at `seconds[i]` (from the first frame, ascending) of `video`, scaled to
// `width` pixels wide (height by the stream's aspect ratio, even), as data URIs; one
// decode of the video up to the last time. A time past the end gets the last frame.
// Throws hl::FormatError naming the file when it cannot be decoded.
std::vector<std::string> grab(const std::string& video, const std::vector<double>& seconds, int width = 320);

}  // namespace hl::thumbnails
