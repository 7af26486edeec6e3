// The configuration of the highlight model (nets/highlight_model.h) and the paper's
// hidden-size rule for single-feature and leave-one-out models (specs/paper.md).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nets/features.h"

namespace hl {

struct HighlightModelConfig {
  std::vector<Feature> features;  // non-empty, no duplicates; kept in the paper's order
  int64_t hidden = 20;            // BiLSTM units per direction; the head's hidden width
  float encoder_dropout = 0.5f;   // after each dense encoder's ReLU (googlenet, places365, affect, cam)
  float lstm_input_dropout = 0.2f;      // (ours: specs/paper.md)
  float lstm_recurrent_dropout = 0.2f;  // (ours)
  float head_dropout = 0.5f;
  // The LSTM's forget-gate bias starts at 1 (Keras's unit_forget_bias, its default)
  // instead of 0. Off by default: every bias starts at zero.
  bool unit_forget_bias = false;

  // The paper's configuration for `features`: hidden = paper_hidden_size(features),
  // the dropout rates above.
  static HighlightModelConfig paper(const std::vector<Feature>& features);

  // Throws hl::Error for an empty or repeated feature list, hidden < 1, or a dropout
  // rate outside [0, 1). Sorts the features into the paper's order.
  void validate_and_normalise();

  // The configuration as safetensors metadata (string -> string) and back: format
  // "hl.highlight_model", format_version "1" (HighlightModel::save raises it to 2 when
  // it adds input normalisation statistics; from_metadata reads 1 and 2). from_metadata
  // throws hl::Error naming `source` for a missing or malformed key or a file that is
  // not a highlight model.
  std::map<std::string, std::string> to_metadata() const;
  static HighlightModelConfig from_metadata(const std::map<std::string, std::string>& metadata,
                                            const std::string& source);
};

// The width of a feature's per-frame encoding: 64, but 1 for faces and 128 for mfcc.
int64_t encoding_width(Feature f);
// The per-frame width after concatenation (385 for all six features).
int64_t concat_width(const std::vector<Feature>& features);
// Parameters after the concatenation: BiLSTM (two directions of 4h (d + h + 1)) +
// dense 2h->h + dense h->1. 65,801 for d = 385, h = 20.
int64_t post_concat_parameter_count(int64_t concat_width, int64_t hidden);
// The paper's hidden-size rule: one feature: 20 for the 64-d encodings, 13 for mfcc, 4
// for faces; several features: the h whose post-concatenation count is closest to the
// all-feature model's 65,801 (the smaller h on a tie). For all six that is 20; for the
// leave-one-out sets 23 (without a 64-d feature), 20 (without faces), 28 (without mfcc).
// The paper defines the rule for leave-one-out sets; other subsets get the same rule (ours).
int64_t paper_hidden_size(const std::vector<Feature>& features);

}  // namespace hl
