// hl-synth: writes a deterministic synthetic dataset (feature files + labels.csv) whose
// segments carry a planted signal per feature (pipeline/synthetic.h). For trying the
// training and evaluation tools without extracting features from real videos, and for
// the tests that check training learns what was planted.
#include <cstdio>
#include <string>
#include <vector>

#include "engine/error.h"
#include "pipeline/synthetic.h"
#include "tools/cli_common.h"

int main(int argc, char** argv) {
  hl::cli::Tool tool("synth", "Write a synthetic feature dataset with planted highlight signals.");
  CLI::App& app = tool.app();
  std::string out, features = "all", dtype = "f16";
  std::vector<std::string> strengths;
  std::vector<double> seconds = {30, 60};
  hl::SyntheticSpec spec;
  app.add_option("--out", out, "output folder: OUT/features/<video>.safetensors and OUT/labels.csv")
      ->required()
      ->option_text("DIR");
  app.add_option("--videos", spec.videos, "number of videos")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--seconds", seconds, "video lengths, uniform in [MIN, MAX] seconds")
      ->delimiter(',')
      ->expected(2)
      ->check(CLI::Range(5.0, 36000.0))
      ->option_text("MIN,MAX (default 30,60)");
  app.add_option("--seed", spec.seed, "random seed (everything is a function of it)")->capture_default_str();
  app.add_option("--features", features, "features to write: all, or a list such as googlenet,mfcc")
      ->capture_default_str();
  app.add_option("--strength", strengths,
                 "planted signal-to-noise per feature, e.g. googlenet=1.2,faces=0 (defaults: googlenet 1.2, "
                 "places365 1.0, affect 0.8, mfcc 0.6, cam 0.4, faces 0.2)")
      ->delimiter(',')
      ->option_text("NAME=S,...");
  app.add_option("--dtype", dtype, "stored precision: f16 or f32")->check(CLI::IsMember({"f16", "f32"}))
      ->capture_default_str();
  app.footer("Example:\n  hl-synth --out data/synth --videos 40 --seconds 30,60 --seed 7\n");
  return tool.run(argc, argv, [&] {
    spec.features = hl::parse_feature_list(features);
    spec.min_seconds = seconds[0];
    spec.max_seconds = seconds[1];
    if (spec.max_seconds < spec.min_seconds) throw hl::Error("--seconds: MIN must not exceed MAX");
    spec.dtype = dtype == "f32" ? hl::DType::F32 : hl::DType::F16;
    for (const std::string& s : strengths) {
      const size_t eq = s.find('=');
      if (eq == std::string::npos) throw hl::Error("--strength: expected NAME=VALUE, got '" + s + "'");
      const auto f = hl::parse_feature_list(s.substr(0, eq));
      try {
        spec.strength[f.at(0)] = std::stof(s.substr(eq + 1));
      } catch (const std::logic_error&) {
        throw hl::Error("--strength: '" + s.substr(eq + 1) + "' is not a number");
      }
    }
    hl::write_synthetic_dataset(spec, out);
    std::printf("wrote %d videos to %s/features and labels to %s/labels.csv\n", spec.videos, out.c_str(), out.c_str());
    return 0;
  });
}
