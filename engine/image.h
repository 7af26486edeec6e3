// Still images (PNG and JPEG) decoded to RGB with the pixels PIL gives:
// Image.open(path).convert('RGB') (docs/preprocessing.md).
//
// The format is taken from the content (the first bytes), never from the extension.
// JPEG: libjpeg-turbo, the library PIL uses, with PIL's settings (ISLOW DCT, fancy
// upsampling, libjpeg's own colour conversion); grayscale replicated to R = G = B; a
// file that ends before the image does is an error, as PIL's "image file is truncated"
// (libjpeg alone would pad with grey). CMYK/YCCK JPEGs are refused.
// PNG: stb_image for the pixels, after our own walk over the chunks (lengths inside the
// file, CRCs of the chunks before the image data, as PIL checks them); grey, grey+alpha,
// palette (with or without transparency), RGB and RGBA, 1 to 16 bits; alpha is dropped
// without compositing and 16-bit samples keep their high byte, as convert('RGB') does,
// except 16-bit grey, which PIL opens as 32-bit integers and clips to 255.
//
// Hostile files: every problem is an hl::FormatError naming the file; nothing is
// allocated before the declared size passes ImageLimits and is justified by the file
// size (a PNG cannot inflate more than 1032:1; a Huffman-coded JPEG spends at least one
// bit per 8x8 block, so no more than 512 pixels per byte).
// Tests: tests/engine/test_image.cpp (hostile files), tests/nets/test_preprocess_golden.cpp
// (pixels equal to PIL's).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace hl {

struct ImageLimits {
  // Largest width x height (as declared in the header); the default admits 8K x 8K.
  int64_t max_pixels = 8192LL * 8192LL;
  // Largest file read into memory.
  int64_t max_file_bytes = 512LL << 20;
};

// False in a build made without libjpeg or stb_image (then loading throws hl::Error).
bool image_loading_available();

// u8 [H, W, 3] in host memory, rows packed.
Tensor load_image_rgb(const std::string& path, const ImageLimits& limits = {});

// The same on bytes already in memory; `name` stands for the file in messages.
Tensor decode_image_rgb(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits = {});

}  // namespace hl
