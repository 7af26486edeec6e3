// PNG and JPEG decoding to PIL's RGB pixels (engine/image.h, docs/preprocessing.md).
//
// libjpeg reports errors through a callback that must not return (its default calls
// exit()); ours longjmps back into the small function that called into libjpeg, which
// holds no C++ object with a destructor, and the caller turns the message into an
// hl::FormatError. stb_image reports errors by returning null.
#include "engine/image.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#ifdef HL_HAVE_JPEG
#include <csetjmp>
#include <cstdio>  // jpeglib.h uses FILE without including it
#include <jpeglib.h>
// After jpeglib.h: the message codes (JERR_INPUT_EOF) and ERREXIT.
#include <jerror.h>
#endif

#ifdef HL_HAVE_STB_IMAGE
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop
#endif

namespace hl {
namespace {

std::string size_text(int64_t w, int64_t h) { return std::to_string(w) + " x " + std::to_string(h); }

void check_pixels(const std::string& name, int64_t w, int64_t h, const ImageLimits& limits) {
  if (w <= 0 || h <= 0) throw FormatError(name, "image declares " + size_text(w, h) + " pixels");
  if (w > limits.max_pixels / h)
    throw FormatError(name, "image is " + size_text(w, h) + " pixels, more than the limit of " +
                                std::to_string(limits.max_pixels) + " (ImageLimits::max_pixels)");
}

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// ---------------------------------------------------------------------------------------
// JPEG

#ifdef HL_HAVE_JPEG

struct JpegErrors {
  jpeg_error_mgr pub;  // first: libjpeg hands us a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}
void jpeg_quiet(j_common_ptr) {}  // warnings (e.g. extraneous bytes) are ignored, as PIL does

// The whole file is the source buffer: asking for more means the file ended early.
void source_init(j_decompress_ptr) {}
void source_term(j_decompress_ptr) {}
boolean source_fill(j_decompress_ptr cinfo) {
  ERREXIT(cinfo, JERR_INPUT_EOF);
  return FALSE;
}
void source_skip(j_decompress_ptr cinfo, long count) {
  if (count <= 0) return;
  if (static_cast<size_t>(count) > cinfo->src->bytes_in_buffer) source_fill(cinfo);
  cinfo->src->next_input_byte += count;
  cinfo->src->bytes_in_buffer -= static_cast<size_t>(count);
}

struct JpegDecoder {
  jpeg_decompress_struct cinfo{};
  JpegErrors errors{};
  jpeg_source_mgr source{};
  bool created = false;
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// The two calls into libjpeg, each behind its own setjmp. Nothing in them needs
// unwinding, and nothing written after setjmp is read after the longjmp but the decoder.
bool jpeg_header(JpegDecoder& d, const uint8_t* data, size_t size) {
  d.cinfo.err = jpeg_std_error(&d.errors.pub);
  d.errors.pub.error_exit = jpeg_fail;
  d.errors.pub.output_message = jpeg_quiet;
  if (setjmp(d.errors.jump)) return false;
  jpeg_create_decompress(&d.cinfo);
  d.created = true;
  d.source.next_input_byte = data;
  d.source.bytes_in_buffer = size;
  d.source.init_source = source_init;
  d.source.fill_input_buffer = source_fill;
  d.source.skip_input_data = source_skip;
  d.source.resync_to_restart = jpeg_resync_to_restart;
  d.source.term_source = source_term;
  d.cinfo.src = &d.source;
  jpeg_read_header(&d.cinfo, TRUE);
  return true;
}

bool jpeg_pixels(JpegDecoder& d, uint8_t* out) {
  if (setjmp(d.errors.jump)) return false;
  jpeg_start_decompress(&d.cinfo);
  const size_t stride = size_t{d.cinfo.output_width} * 3;
  while (d.cinfo.output_scanline < d.cinfo.output_height) {
    JSAMPROW row = out + d.cinfo.output_scanline * stride;
    if (jpeg_read_scanlines(&d.cinfo, &row, 1) != 1) ERREXIT(&d.cinfo, JERR_INPUT_EOF);
  }
  jpeg_finish_decompress(&d.cinfo);
  return true;
}

[[noreturn]] void jpeg_throw(const JpegDecoder& d, const std::string& name) {
  // PIL's words for a file that ends before the image does.
  if (d.errors.pub.msg_code == JERR_INPUT_EOF) throw FormatError(name, "image file is truncated (JPEG)");
  throw FormatError(name, std::string("corrupt JPEG: ") + d.errors.message);
}

Tensor decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits) {
  JpegDecoder d;
  if (!jpeg_header(d, data, size)) jpeg_throw(d, name);
  const int64_t w = d.cinfo.image_width, h = d.cinfo.image_height;
  check_pixels(name, w, h, limits);
  // At least one bit per 8x8 block of the full-resolution component (a Huffman code is
  // at least one bit long): 512 pixels per byte. libjpeg sizes whole-image buffers of
  // progressive files from the header, so a header must not promise more.
  if (w * h > 512 * static_cast<int64_t>(size))
    throw FormatError(name, "JPEG declares " + size_text(w, h) + " pixels, more than its " + std::to_string(size) +
                                " bytes can encode");
  const J_COLOR_SPACE space = d.cinfo.jpeg_color_space;
  if (space != JCS_GRAYSCALE && space != JCS_YCbCr && space != JCS_RGB)
    throw FormatError(name, "JPEG colour space with " + std::to_string(d.cinfo.num_components) +
                                " components (CMYK, YCCK or unknown) is not supported; convert the image to RGB");
  // PIL's decoder settings (libjpeg's defaults, stated): grey is expanded to R = G = B by
  // libjpeg, as convert('RGB') does.
  d.cinfo.out_color_space = JCS_RGB;
  d.cinfo.dct_method = JDCT_ISLOW;
  d.cinfo.do_fancy_upsampling = TRUE;
  Tensor rgb = Tensor::empty({h, w, 3}, DType::U8);  // [H, W, 3]
  if (!jpeg_pixels(d, rgb.data<uint8_t>())) jpeg_throw(d, name);
  return rgb;
}

#else

Tensor decode_jpeg(const uint8_t*, size_t, const std::string& name, const ImageLimits&) {
  throw Error(name + ": this build of hl was made without libjpeg, so it cannot decode JPEG images");
}

#endif

// ---------------------------------------------------------------------------------------
// PNG

constexpr std::array<uint8_t, 8> kPngSignature = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

uint32_t crc32(const uint8_t* p, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

struct PngLayout {
  int64_t width = 0, height = 0;
  int depth = 0, color = 0;
  size_t image_end = 0;  // end of the last IDAT chunk of the first run
  int64_t idat_bytes = 0;
};

// Walks the chunks up to the end of the image data, checking what PIL checks (the
// chunks before the first IDAT are complete and their CRCs match) and that IHDR is
// first and sane. What follows the image data is ignored, as PIL ignores it.
PngLayout walk_png(const uint8_t* data, size_t size, const std::string& name) {
  PngLayout png;
  size_t pos = kPngSignature.size();
  bool seen_ihdr = false, in_idat = false;
  for (;;) {
    if (size - pos < 12) {  // not even an empty chunk left
      if (in_idat) break;
      throw FormatError(name, "image file is truncated (PNG ends before its image data)");
    }
    const uint32_t length = be32(data + pos);
    const uint8_t* type = data + pos + 4;
    std::string type_name(reinterpret_cast<const char*>(type), 4);  // for messages: letters only
    for (char& ch : type_name) ch = std::isalpha(static_cast<unsigned char>(ch)) ? ch : '?';
    const bool is_idat = std::memcmp(type, "IDAT", 4) == 0;
    if (in_idat && !is_idat) break;  // the image data is complete
    if (length > 0x7FFFFFFFu) throw FormatError(name, "PNG chunk length " + std::to_string(length) + " is invalid");
    if (size_t{length} > size - pos - 12) throw FormatError(name, "image file is truncated (PNG chunk " +
                                                                       type_name + " runs past the end)");
    const uint8_t* body = type + 4;
    if (!seen_ihdr) {
      if (type_name != "IHDR" || length != 13) throw FormatError(name, "PNG does not start with an IHDR chunk");
      seen_ihdr = true;
      png.width = be32(body), png.height = be32(body + 4), png.depth = body[8], png.color = body[9];
    }
    if (!is_idat && crc32(type, size_t{length} + 4) != be32(body + length))
      throw FormatError(name, "broken PNG file (bad checksum in chunk " + type_name + ")");
    if (is_idat) in_idat = true, png.idat_bytes += length;
    if (type_name == "IEND") throw FormatError(name, "PNG has no image data (IEND before IDAT)");
    pos += size_t{length} + 12;
    if (in_idat) png.image_end = pos;
  }
  return png;
}

#ifdef HL_HAVE_STB_IMAGE

// stb_image reads the chunks up to the end of the image data, then an IEND of our own
// (it decodes only at IEND; PIL decodes without one).
struct PngReader {
  const uint8_t* data;
  size_t size;  // image_end
  size_t pos = 0;
  static constexpr std::array<uint8_t, 12> kIend = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};

  int read(char* out, int n) {
    int done = 0;
    while (done < n && pos < size + kIend.size()) {
      const size_t chunk = pos < size ? std::min<size_t>(n - done, size - pos)
                                      : std::min<size_t>(n - done, size + kIend.size() - pos);
      std::memcpy(out + done, pos < size ? data + pos : kIend.data() + (pos - size), chunk);
      done += static_cast<int>(chunk), pos += chunk;
    }
    return done;
  }
  static int read_cb(void* user, char* out, int n) { return static_cast<PngReader*>(user)->read(out, n); }
  static void skip_cb(void* user, int n) {
    auto* r = static_cast<PngReader*>(user);
    r->pos = std::min(r->pos + static_cast<size_t>(std::max(n, 0)), r->size + kIend.size());
  }
  static int eof_cb(void* user) {
    auto* r = static_cast<PngReader*>(user);
    return r->pos >= r->size + kIend.size();
  }
};

Tensor decode_png(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits) {
  const PngLayout png = walk_png(data, size, name);
  check_pixels(name, png.width, png.height, limits);
  static constexpr int kChannels[7] = {1, 0, 3, 1, 2, 0, 4};  // samples per pixel by colour type
  const int channels = png.color >= 0 && png.color <= 6 ? kChannels[png.color] : 0;
  if (channels == 0 || (png.depth != 1 && png.depth != 2 && png.depth != 4 && png.depth != 8 && png.depth != 16))
    throw FormatError(name, "PNG colour type " + std::to_string(png.color) + " with bit depth " +
                                std::to_string(png.depth) + " is invalid");
  // Deflate expands at most 1032:1, so the filtered rows must fit in 1032 x the IDAT bytes.
  const int64_t row_bytes = 1 + (png.width * channels * png.depth + 7) / 8;
  if (png.height > (1032 * png.idat_bytes) / row_bytes)
    throw FormatError(name, "PNG declares " + size_text(png.width, png.height) + " pixels, more than its " +
                                std::to_string(png.idat_bytes) + " bytes of image data can hold");
  PngReader reader{data, png.image_end};
  const stbi_io_callbacks io{PngReader::read_cb, PngReader::skip_cb, PngReader::eof_cb};
  int w = 0, h = 0, n = 0;
  Tensor rgb = Tensor::empty({png.height, png.width, 3}, DType::U8);  // [H, W, 3]
  uint8_t* out = rgb.data<uint8_t>();
  const int64_t pixels = png.width * png.height;
  const auto decoded = [&](void* p) {
    if (!p) throw FormatError(name, std::string("corrupt PNG: ") + stbi_failure_reason());
    std::unique_ptr<void, void (*)(void*)> owned(p, stbi_image_free);
    if (w != png.width || h != png.height) throw FormatError(name, "PNG decoder disagrees about the image size");
    return owned;
  };
  if (png.depth == 16 && png.color == 0) {
    // PIL opens 16-bit grey as mode I (32-bit integers); convert('RGB') clips to 255.
    const auto grey = decoded(stbi_load_16_from_callbacks(&io, &reader, &w, &h, &n, 1));
    const auto* v = static_cast<const stbi_us*>(grey.get());
    for (int64_t i = 0; i < pixels; ++i) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = std::min<stbi_us>(v[i], 255);
  } else {
    // stb keeps the high byte of 16-bit samples, expands palettes and low bit depths,
    // replicates grey and drops alpha: what convert('RGB') does.
    const auto rgb8 = decoded(stbi_load_from_callbacks(&io, &reader, &w, &h, &n, 3));
    std::memcpy(out, rgb8.get(), static_cast<size_t>(pixels * 3));
  }
  return rgb;
}

#else

Tensor decode_png(const uint8_t*, size_t, const std::string& name, const ImageLimits&) {
  throw Error(name + ": this build of hl was made without stb_image, so it cannot decode PNG images");
}

#endif

}  // namespace

bool image_loading_available() {
#if defined(HL_HAVE_JPEG) && defined(HL_HAVE_STB_IMAGE)
  return true;
#else
  return false;
#endif
}

Tensor decode_image_rgb(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits) {
  if (size == 0) throw FormatError(name, "empty file, not an image");
  if (size >= kPngSignature.size() && std::equal(kPngSignature.begin(), kPngSignature.end(), data))
    return decode_png(data, size, name, limits);
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return decode_jpeg(data, size, name, limits);
  throw FormatError(name, "not a PNG or JPEG image (unrecognised first bytes)");
}

Tensor load_image_rgb(const std::string& path, const ImageLimits& limits) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw FormatError(path, "no such file");
  // Only regular files: opening a FIFO or a device could block or never end.
  if (!std::filesystem::is_regular_file(status)) throw FormatError(path, "not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw FormatError(path, "cannot read its size: " + ec.message());
  if (size > static_cast<uintmax_t>(limits.max_file_bytes))
    throw FormatError(path, "file is " + std::to_string(size) + " bytes, more than the limit of " +
                                std::to_string(limits.max_file_bytes) + " (ImageLimits::max_file_bytes)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path, "cannot open for reading");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<size_t>(in.gcount()) != bytes.size()) throw FormatError(path, "cannot read the whole file");
  return decode_image_rgb(bytes.data(), bytes.size(), path, limits);
}

}  // namespace hl
