#include "nets/features.h"

#include <algorithm>

#include "engine/error.h"

namespace hl {

namespace {
const std::vector<FeatureSpec>& specs() {
  static const std::vector<FeatureSpec> table = {
      {Feature::GoogLeNet, "googlenet", {1024}, 1}, {Feature::Places365, "places365", {2048}, 1},
      {Feature::Affect, "affect", {128}, 1},        {Feature::Cam, "cam", {14, 14}, 1},
      {Feature::Faces, "faces", {}, 1},             {Feature::Mfcc, "mfcc", {13}, 4},
  };
  return table;
}
}  // namespace

const FeatureSpec& feature_spec(Feature f) { return specs()[static_cast<size_t>(f)]; }

const std::vector<Feature>& all_features() {
  static const std::vector<Feature> all = {Feature::GoogLeNet, Feature::Places365, Feature::Affect,
                                           Feature::Cam,       Feature::Faces,     Feature::Mfcc};
  return all;
}

std::vector<Feature> parse_feature_list(const std::string& text) {
  if (text == "all") return all_features();
  std::vector<Feature> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string name = text.substr(pos, comma - pos);
    const auto it = std::find_if(specs().begin(), specs().end(), [&](const FeatureSpec& s) { return name == s.name; });
    if (it == specs().end())
      throw Error("unknown feature '" + name + "' in '" + text + "': use all or a comma-separated list of " +
                  feature_list_string(all_features()));
    if (std::find(out.begin(), out.end(), it->feature) != out.end())
      throw Error("feature '" + name + "' is listed twice in '" + text + "'");
    out.push_back(it->feature);
    pos = comma + 1;
  }
  return out;
}

std::string feature_list_string(const std::vector<Feature>& features) {
  std::string s;
  for (Feature f : features) s += (s.empty() ? "" : ",") + std::string(feature_spec(f).name);
  return s;
}

}  // namespace hl
