// The six per-frame features of the highlight model (specs/paper.md, "Per-frame
// inputs") as they are stored in a feature file (DESIGN section 4): one tensor per
// feature, named as below, at the video's native frame rate.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hl {

enum class Feature : uint8_t { GoogLeNet, Places365, Affect, Cam, Faces, Mfcc };

struct FeatureSpec {
  Feature feature;
  const char* name;                  // tensor name in feature files and on command lines
  std::vector<int64_t> frame_shape;  // per row: [1024], [14, 14], [] (faces), [13] (mfcc)
  int rows_per_frame;                // 4 for mfcc, 1 otherwise
};

const FeatureSpec& feature_spec(Feature f);
// Every feature in the paper's order.
const std::vector<Feature>& all_features();
// "googlenet,places365,affect,cam,faces,mfcc" or "all"; throws hl::Error naming the
// unknown name and listing the known ones. Duplicates are an error too.
std::vector<Feature> parse_feature_list(const std::string& text);
std::string feature_list_string(const std::vector<Feature>& features);

}  // namespace hl
