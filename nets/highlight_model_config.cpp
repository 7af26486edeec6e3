#include "nets/highlight_model_config.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/float_text.h"
#include "nets/parameter_set.h"

namespace hl {

namespace {

constexpr const char* kFormat = "hl.highlight_model";
// Version 1: no input normalisation; version 2 adds it (nets/input_normalisation.h).
// to_metadata() writes 1; the model's save() raises it when it writes statistics.
constexpr const char* kFormatVersion = "1";
constexpr const char* kNormalisedFormatVersion = "2";
// The all-feature model's parameters after the concatenation, which the leave-one-out
// models match (specs/paper.md).
constexpr int64_t kPaperPostConcatParameters = 65801;

void check_dropout(float p, const char* name) {
  if (!(p >= 0.0f && p < 1.0f)) throw Error(std::string("highlight model: ") + name + " " + float_text(p) +
                                           " is outside [0, 1)");
}

}  // namespace

HighlightModelConfig HighlightModelConfig::paper(const std::vector<Feature>& features) {
  HighlightModelConfig c;
  c.features = features;
  c.validate_and_normalise();
  c.hidden = paper_hidden_size(c.features);
  return c;
}

void HighlightModelConfig::validate_and_normalise() {
  if (features.empty()) throw Error("highlight model: the feature list is empty");
  std::vector<Feature> ordered;
  for (Feature f : all_features()) {
    const auto n = std::count(features.begin(), features.end(), f);
    if (n > 1) throw Error(std::string("highlight model: feature '") + feature_spec(f).name + "' is listed twice");
    if (n == 1) ordered.push_back(f);
  }
  features = ordered;
  if (hidden < 1) throw Error("highlight model: hidden size " + std::to_string(hidden) + " must be at least 1");
  check_dropout(encoder_dropout, "encoder dropout");
  check_dropout(lstm_input_dropout, "LSTM input dropout");
  check_dropout(lstm_recurrent_dropout, "LSTM recurrent dropout");
  check_dropout(head_dropout, "head dropout");
}

std::map<std::string, std::string> HighlightModelConfig::to_metadata() const {
  return {
      {"format", kFormat},
      {"format_version", kFormatVersion},
      {"features", feature_list_string(features)},
      {"hidden", std::to_string(hidden)},
      {"encoder_dropout", float_text(encoder_dropout)},
      {"lstm_input_dropout", float_text(lstm_input_dropout)},
      {"lstm_recurrent_dropout", float_text(lstm_recurrent_dropout)},
      {"head_dropout", float_text(head_dropout)},
      {"unit_forget_bias", unit_forget_bias ? "true" : "false"},
  };
}

HighlightModelConfig HighlightModelConfig::from_metadata(const std::map<std::string, std::string>& m,
                                                         const std::string& source) {
  const auto format = m.find("format");
  if (format == m.end() || format->second != kFormat)
    throw Error(source + ": not a highlight model file (metadata 'format' is not '" + kFormat + "')");
  const MetadataReader meta(m, source, "model");
  const std::string& version = meta.required("format_version");
  if (version != kFormatVersion && version != kNormalisedFormatVersion)
    throw Error(source + ": highlight model format version '" + version + "' is not supported (this build reads "
                "versions " + kFormatVersion + " and " + kNormalisedFormatVersion + ")");
  HighlightModelConfig c;
  try {
    c.features = parse_feature_list(meta.required("features"));
  } catch (const Error& e) {
    throw Error(source + ": model metadata 'features': " + e.what());
  }
  c.hidden = meta.integer("hidden");
  c.encoder_dropout = meta.real("encoder_dropout");
  c.lstm_input_dropout = meta.real("lstm_input_dropout");
  c.lstm_recurrent_dropout = meta.real("lstm_recurrent_dropout");
  c.head_dropout = meta.real("head_dropout");
  c.unit_forget_bias = meta.boolean("unit_forget_bias");
  try {
    c.validate_and_normalise();
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
  return c;
}

int64_t encoding_width(Feature f) {
  switch (f) {
    case Feature::Faces: return 1;
    case Feature::Mfcc: return 128;
    default: return 64;
  }
}

int64_t concat_width(const std::vector<Feature>& features) {
  int64_t d = 0;
  for (Feature f : features) d += encoding_width(f);
  return d;
}

int64_t post_concat_parameter_count(int64_t d, int64_t h) {
  const int64_t bilstm = 2 * 4 * h * (d + h + 1);  // kernel [d, 4h], recurrent [h, 4h], bias [4h], per direction
  const int64_t head = (2 * h * h + h) + (h + 1);  // dense 2h->h, dense h->1
  return bilstm + head;
}

int64_t paper_hidden_size(const std::vector<Feature>& features) {
  if (features.size() == 1) {
    switch (features[0]) {
      case Feature::Faces: return 4;
      case Feature::Mfcc: return 13;
      default: return 20;
    }
  }
  // The count grows with h, so the closest lies just below or at the first h whose
  // count reaches the target.
  const int64_t d = concat_width(features);
  int64_t h = 1;
  while (post_concat_parameter_count(d, h) < kPaperPostConcatParameters) ++h;
  const int64_t above = post_concat_parameter_count(d, h) - kPaperPostConcatParameters;
  const int64_t below = h > 1 ? kPaperPostConcatParameters - post_concat_parameter_count(d, h - 1) : above + 1;
  return below <= above ? h - 1 : h;
}

}  // namespace hl
