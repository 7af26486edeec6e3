// Writes a small mfcc highlight model with seeded random weights (HighlightModel::save's
// file, as hl-train writes a fold's model) for Package.EmbedExampleBuildsAndRuns: the
// example needs a model file, and its scores only have to agree between file and stream.
#include <cstdio>
#include <exception>

#include "nets/highlight_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_embed_model OUT.safetensors\n");
    return 2;
  }
  try {
    const hl::HighlightModel model(hl::HighlightModelConfig::paper({hl::Feature::Mfcc}), 3);
    model.save(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_embed_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
