// hl-highlights: from videos to their highlights with a trained model (docs/highlights.md).
//
//   hl-highlights VIDEO... --model MODEL [--out DIR] [--top K | --max-duration SECONDS]
//                 [--weights DIR] [--device cpu|cuda[:N]] [--features-cache DIR]
//                 [--format json,csv,edl,html] [--reel] [--faces-step N]
//
// Per video: the features the model needs, extracted through pipeline/extract.h (reusing
// and filling --features-cache) and checked against how the model's training features
// were made (pipeline/highlights.h); the score of every complete 5-s segment (the same
// bits as hl-train's predictions on the CPU); the ranking; and DIR/<video id>/ with
// segments.csv, highlights.json, highlights.edl (tools/edl.h) and report.html
// (tools/highlights_report.h), and with --reel reel.mp4 (engine/media/reel.h). The folder is written beside DIR first and renamed into
// place whole, so a failed video leaves nothing of itself and an earlier result stays
// until the new one is complete. Exit codes: 0 all videos done, 1 a video or the model
// failed (one message per video), 2 a wrong command line.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/log.h"
#include "engine/progress.h"
#include "nets/highlight_model.h"
#include "pipeline/extract.h"
#include "pipeline/feature_file.h"
#include "pipeline/final_model.h"
#include "pipeline/highlights.h"
#include "tools/cli_common.h"
#include "tools/edl.h"
#include "tools/highlights_report.h"
#include "tools/thumbnails.h"
#ifdef HL_HAVE_FFMPEG
#include "engine/media/media.h"
#include "engine/media/reel.h"
#endif

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct Options {
  std::vector<std::string> videos;
  std::string model, out = "highlights", weights, features_cache;
  int64_t top = 5;
  double max_duration = 0;
  std::vector<std::string> formats{"json", "csv", "edl", "html"};
  hl::Device device = hl::Device::cpu();
  bool reel = false;
  int64_t faces_step = 0;  // 0: not given (the model's step)
};

// A folder removed (with what is in it) when the run ends, however it ends.
struct StagingFolder {
  fs::path path;
  ~StagingFolder() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

// What is known of a video once it is scored.
struct Scored {
  std::string input, id;
  double duration = 0;             // of its features, seconds
  hl::edl::Rate rate{30000, 1001}; // the video stream's frame rate (the EDL's)
  std::vector<float> scores;
  std::vector<int64_t> ranks, chosen;
};

std::string seconds_text(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", s);
  return text;
}
std::string score_text(float s) {  // %.9g: reads back as the same float
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(s));
  return text;
}

std::string segments_csv(const Scored& v) {
  std::string text = "segment,start,end,score,rank\n";
  for (size_t s = 0; s < v.scores.size(); ++s)
    text += std::to_string(s) + "," + seconds_text(static_cast<double>(s) * hl::kSegmentSeconds) + "," +
            seconds_text(static_cast<double>(s + 1) * hl::kSegmentSeconds) + "," + score_text(v.scores[s]) + "," +
            std::to_string(v.ranks[s]) + "\n";
  return text;
}

std::string highlights_json(const Scored& v, const std::string& model, const std::string& features) {
  ordered_json segments = ordered_json::array();
  for (size_t s = 0; s < v.scores.size(); ++s)
    segments.push_back({{"segment", s},
                        {"start", static_cast<double>(s) * hl::kSegmentSeconds},
                        {"end", static_cast<double>(s + 1) * hl::kSegmentSeconds},
                        {"score", static_cast<double>(v.scores[s])},
                        {"rank", v.ranks[s]}});
  const ordered_json j = {{"video", v.input},
                          {"video_id", v.id},
                          {"model", model},
                          {"features", features},
                          {"segment_seconds", hl::kSegmentSeconds},
                          {"frame_rate", std::to_string(v.rate.num) + "/" + std::to_string(v.rate.den)},
                          {"segments", segments},
                          {"top", v.chosen}};
  return j.dump(2) + "\n";
}

std::string highlights_edl(const Scored& v) {
  std::vector<hl::edl::Event> events;
  for (int64_t s : v.chosen)
    events.push_back({hl::edl::frame_at(s * hl::kSegmentSeconds, 1, v.rate),
                      hl::edl::frame_at((s + 1) * hl::kSegmentSeconds, 1, v.rate)});
  return hl::edl::write_edl(v.id + " highlights", fs::path(v.input).filename().string(), events, v.rate);
}

std::string provenance_text(const std::map<std::string, std::string>& meta, const std::vector<hl::Feature>& features) {
  std::string text;
  for (hl::Feature f : features) {
    const auto e = meta.find(hl::feature_meta::extractor_key(f));
    const auto w = meta.find(hl::feature_meta::weights_key(f));
    text += std::string(hl::feature_spec(f).name) + ": " + (e == meta.end() ? "(not recorded)" : e->second) +
            "; weights " + (w == meta.end() ? "(not recorded)" : w->second) + "\n";
  }
  return text;
}

class Run {
 public:
  Run(const Options& opt, hl::cli::Tool& tool) : opt_(opt), tool_(tool) {}

  int run() {
    // The model first: a corrupt file or a feature this build cannot compute stops the
    // run before any output exists.
    std::map<std::string, std::string> meta;
    model_ = std::make_unique<hl::HighlightModel>(hl::HighlightModel::load(opt_.model, &meta));
    needs_ = hl::model_requirements(meta, opt_.model);
    features_ = hl::feature_list_string(needs_.features);
    provenance_ = provenance_text(meta, needs_.features);
    if (!needs_.has_provenance) {
      HL_LOG(Warn) << opt_.model << " does not record how its features were made (not trained with hl-train --final): "
                   << "features are extracted at " << hl::frame_rate_string(needs_.fps)
                   << " fps and cannot be checked against its training features";
    }
    if (!opt_.device.is_cpu()) {
      try {
        (void)hl::Tensor::empty({1}, hl::DType::F32, opt_.device);
      } catch (const hl::Error& e) {
        throw hl::Error("--device " + opt_.device.str() + ": " + e.what());
      }
    }
    faces_step_ = faces_step();  // a disagreeing --faces-step stops the run before any output exists
    prepare_output();
    prepare_extraction();

    std::vector<std::string> failed;
    {
      hl::ProgressBar bar("highlights", static_cast<int64_t>(opt_.videos.size()), "videos");
      for (const std::string& input : opt_.videos) {
        try {
          const Scored v = score(input, bar);
          bar.set_postfix(hl::video_id(input) + ": writing");
          write_outputs(v);
          report(v);
        } catch (const std::exception& e) {
          hl::progress_suspend_for_log();
          const std::string what = e.what();
          tool_.print_error(what.rfind(input, 0) == 0 ? what : input + ": " + what);
          hl::progress_resume_after_log();
          failed.push_back(input);
        }
        bar.advance();
      }
    }
    std::printf("hl-highlights: %zu done, %zu failed; results in %s\n", opt_.videos.size() - failed.size(),
                failed.size(), opt_.out.c_str());
    for (const auto& f : failed) std::printf("  failed: %s\n", f.c_str());
    return failed.empty() ? 0 : hl::cli::kExitFailure;
  }

 private:
  void prepare_output() {
    std::error_code ec;
    fs::create_directories(opt_.out, ec);
    if (ec || !fs::is_directory(opt_.out))
      throw hl::Error(opt_.out + ": cannot create the output folder" + (ec ? ": " + ec.message() : ""));
    // Everything is written here first: creating it proves the folder is writable.
    staging_.path = fs::path(opt_.out) / (".hl-highlights.tmp." + std::to_string(::getpid()));
    fs::remove_all(staging_.path, ec);
    if (!fs::create_directory(staging_.path, ec) || ec)
      throw hl::Error(opt_.out + ": cannot write in the output folder" + (ec ? ": " + ec.message() : ""));
  }

  void prepare_extraction() {
    features_dir_ = opt_.features_cache.empty() ? (staging_.path / "features").string() : opt_.features_cache;
    std::error_code ec;
    fs::create_directories(features_dir_, ec);
    if (ec || !fs::is_directory(features_dir_))
      throw hl::Error(features_dir_ + ": cannot create the features folder" + (ec ? ": " + ec.message() : ""));
    extract_.features = needs_.features;
    extract_.fps = needs_.fps;
    extract_.hl_version = hl::cli::version();
    extract_.mfcc_device = opt_.device;
    extract_.visual_options.weights_dir = opt_.weights;
    extract_.visual_options.device = opt_.device;
    extract_.visual_options.faces_step = faces_step_;
    if (std::any_of(needs_.features.begin(), needs_.features.end(), hl::is_visual_feature)) {
      // Loaded once; a missing weights file stops here, naming it and the hl-convert command.
      visual_ = std::make_unique<hl::VisualFeatureExtractor>(needs_.features, extract_.visual_options);
      extract_.visual = visual_.get();
      hl::check_visual_extractor_matches(needs_, *visual_, opt_.model);
    }
  }

  // The faces detection step: the model's (a final model records the --faces-step of
  // its training features); --faces-step may only repeat it. For a model that does not
  // record it, --faces-step (default 1).
  int64_t faces_step() const {
    const bool uses_faces =
        std::find(needs_.features.begin(), needs_.features.end(), hl::Feature::Faces) != needs_.features.end();
    if (opt_.faces_step == 0) return needs_.faces_step;
    if (!uses_faces) {
      HL_LOG(Warn) << "--faces-step " << opt_.faces_step << " is ignored: " << opt_.model << " does not use faces";
      return needs_.faces_step;
    }
    if (needs_.has_provenance && opt_.faces_step != needs_.faces_step)
      throw hl::Error("--faces-step " + std::to_string(opt_.faces_step) + " disagrees with " + opt_.model +
                      ", whose faces features were detected every " + std::to_string(needs_.faces_step) +
                      " frames (hl-extract --faces-step " + std::to_string(needs_.faces_step) +
                      "); leave --faces-step out and the model's step is used");
    return opt_.faces_step;
  }

  Scored score(const std::string& input, hl::ProgressBar& bar) {
    Scored v;
    v.input = input;
    v.id = hl::video_id(input);
    bar.set_postfix(v.id + ": probing");
#ifdef HL_HAVE_FFMPEG
    if (!hl::is_still_image(input)) {
      const hl::media::MediaInfo info = hl::media::probe(input);
      if (!info.video)
        throw hl::FormatError(input, "has no video stream; hl-highlights scores videos (an EDL and thumbnails need "
                                     "frames)");
      v.rate = {info.video->frame_rate.num, info.video->frame_rate.den};
    }
#endif
    if (v.rate.num <= 0 || v.rate.den <= 0) {
      HL_LOG(Warn) << input << ": the frame rate is unknown; the EDL counts frames at " << needs_.fps.num << "/"
                   << needs_.fps.den;
      v.rate = {needs_.fps.num, needs_.fps.den};
    } else if (!hl::edl::timecode_base(v.rate).exact) {
      HL_LOG(Warn) << input << ": frame rate " << v.rate.num << "/" << v.rate.den
                   << " is not a standard timecode rate (a variable frame rate's average?); the EDL's timecodes count "
                   << hl::edl::timecode_base(v.rate).frames_per_second << " frames a second";
    }
    bar.set_postfix(v.id + ": extracting " + features_);
    const hl::ExtractResult extracted = hl::extract_video(input, features_dir_, extract_);
    if (!extracted.note.empty()) {
      HL_LOG(Warn) << extracted.note;
    }
    hl::check_feature_file_matches(needs_, extracted.output, opt_.model);
    v.duration = static_cast<double>(extracted.frames) * static_cast<double>(needs_.fps.den) /
                 static_cast<double>(needs_.fps.num);
    bar.set_postfix(v.id + ": scoring");
    v.scores = hl::score_feature_file(*model_, features_dir_, v.id);
    if (v.scores.empty())
      throw hl::FormatError(input, "is " + seconds_text(v.duration) + " s long, shorter than one " +
                                       std::to_string(hl::kSegmentSeconds) + "-s segment: nothing to score");
    v.ranks = hl::rank_scores(v.scores);
    v.chosen = hl::choose_segments(v.scores, {opt_.top, opt_.max_duration});
    return v;
  }

  bool wants(const char* format) const {
    return std::find(opt_.formats.begin(), opt_.formats.end(), format) != opt_.formats.end();
  }

  // The video's folder, written in the staging folder and renamed into place whole.
  void write_outputs(const Scored& v) {
    const fs::path staged = staging_.path / ("video-" + v.id);
    const fs::path old = staging_.path / ("old-" + v.id);
    const fs::path final_dir = fs::path(opt_.out) / v.id;
    fs::remove_all(staged);
    fs::create_directory(staged);
    try {
      if (wants("csv")) hl::write_text_atomic((staged / "segments.csv").string(), segments_csv(v));
      if (wants("json")) hl::write_text_atomic((staged / "highlights.json").string(), highlights_json(v, opt_.model, features_));
      if (wants("edl")) hl::write_text_atomic((staged / "highlights.edl").string(), highlights_edl(v));
      if (wants("html")) hl::write_text_atomic((staged / "report.html").string(), report_html(v));
      if (opt_.reel) write_reel(v, (staged / "reel.mp4").string());
      if (fs::exists(fs::symlink_status(final_dir))) fs::rename(final_dir, old);
      fs::rename(staged, final_dir);
    } catch (...) {
      std::error_code ec;
      fs::remove_all(staged, ec);
      if (fs::exists(old, ec) && !fs::exists(final_dir, ec)) fs::rename(old, final_dir, ec);  // the earlier result back
      throw;
    }
    std::error_code ec;
    fs::remove_all(old, ec);
  }

  // The chosen segments joined into DIR/<video id>/reel.mp4, cut at the EDL's frames.
  static void write_reel(const Scored& v, const std::string& path) {
#ifdef HL_HAVE_FFMPEG
    std::vector<hl::media::ReelCut> cuts;
    for (int64_t s : v.chosen)
      cuts.push_back({static_cast<double>(s * hl::kSegmentSeconds), static_cast<double>((s + 1) * hl::kSegmentSeconds)});
    hl::media::ReelOptions options;
    options.rate = {v.rate.num, v.rate.den};
    (void)hl::media::write_reel(v.input, cuts, path, options);
#else
    (void)v, (void)path;
    throw hl::Error("this hl was built without FFmpeg (-DHL_FFMPEG=OFF), so it cannot write a reel");
#endif
  }

  std::string report_html(const Scored& v) const {
    hl::highlights_report::Page page;
    page.video = v.input;
    page.video_id = v.id;
    page.model = opt_.model;
    page.features = features_;
    page.provenance = provenance_;
    page.duration_seconds = v.duration;
    for (size_t s = 0; s < v.scores.size(); ++s)
      page.segments.push_back({static_cast<int64_t>(s), static_cast<double>(s) * hl::kSegmentSeconds,
                               static_cast<double>(s + 1) * hl::kSegmentSeconds, v.scores[s], v.ranks[s]});
    page.chosen = v.chosen;
    std::vector<double> times;
    for (int64_t s : v.chosen) times.push_back((static_cast<double>(s) + 0.5) * hl::kSegmentSeconds);
    if (hl::thumbnails::available())
      page.thumbnails = hl::thumbnails::grab(v.input, times);
    else
      HL_LOG(Warn) << v.input << ": this hl was built without stb_image_write (libstb-dev): report.html has no thumbnails";
    return hl::highlights_report::render(page);
  }

  void report(const Scored& v) const {
    std::string line = v.id + ":";
    for (int64_t s : v.chosen) {
      char text[96];
      std::snprintf(text, sizeof text, " [%s-%s s, score %.3f]", seconds_text(static_cast<double>(s) * 5).c_str(),
                    seconds_text(static_cast<double>(s + 1) * 5).c_str(), static_cast<double>(v.scores[static_cast<size_t>(s)]));
      line += text;
    }
    hl::progress_suspend_for_log();
    std::printf("%s -> %s\n", line.c_str(), (fs::path(opt_.out) / v.id).string().c_str());
    std::fflush(stdout);
    hl::progress_resume_after_log();
  }

  const Options& opt_;
  hl::cli::Tool& tool_;
  std::unique_ptr<hl::HighlightModel> model_;
  hl::ModelRequirements needs_;
  std::string features_, provenance_, features_dir_;
  StagingFolder staging_;
  hl::ExtractOptions extract_;
  std::unique_ptr<hl::VisualFeatureExtractor> visual_;
  int64_t faces_step_ = 1;
};

}  // namespace

int main(int argc, char** argv) {
  hl::cli::Tool tool("highlights", "Find the highlights of videos with a trained model (hl-train --final): scores "
                                   "every 5-s segment and writes a CSV, JSON, an EDL and an HTML report per video.");
  Options opt;
  CLI::App& app = tool.app();
  app.add_option("VIDEO", opt.videos, "video files")->required()->check(CLI::ExistingFile);
  app.add_option("--model", opt.model, "model file from hl-train --final (OUT/model.safetensors)")
      ->required()->check(CLI::ExistingFile)->option_text("MODEL");
  app.add_option("--out", opt.out, "output folder: DIR/<video id>/ per video (default: highlights)")->option_text("DIR");
  auto* top = app.add_option("--top", opt.top, "how many segments to choose")
                  ->check(hl::cli::positive_integer())->capture_default_str();
  app.add_option("--max-duration", opt.max_duration,
                 "choose the best segments that fit in this many seconds instead of --top")
      ->check(CLI::Range(static_cast<double>(hl::kSegmentSeconds), 1e9))->excludes(top)->option_text("SECONDS");
  hl::cli::add_weights_option(app, opt.weights);
  hl::cli::add_device_option(app, opt.device, "where the features are computed and scored: cpu (default) or cuda[:N]");
  app.add_option("--features-cache", opt.features_cache,
                 "keep the extracted features here (DIR/<video id>.safetensors) and reuse them on the next run")
      ->option_text("DIR");
  app.add_option("--faces-step", opt.faces_step,
                 "faces: detect on every N-th frame (hl-extract --faces-step); by default the step the model's "
                 "training features were made with, which a final model records (another N is refused)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}))
      ->option_text("N");
  app.add_option("--format", opt.formats, "outputs to write")
      ->delimiter(',')->check(CLI::IsMember({"json", "csv", "edl", "html"}))->option_text("LIST (default json,csv,edl,html)");
  app.add_flag("--reel", opt.reel,
               "also write reel.mp4: the chosen segments in time order joined into one H.264/AAC video (re-encoded, "
               "frame-exact cuts)");
  app.footer(
      "Example:\n  hl-train --features feats --labels labels.csv --use mfcc --out model --final\n"
      "  hl-highlights match.mp4 --model model/model.safetensors --out highlights --top 5 --reel\n"
      "  -> highlights/match/{segments.csv,highlights.json,highlights.edl,report.html,reel.mp4}\n");
  return tool.run(argc, argv, [&] {
    const auto duplicates = hl::find_duplicate_ids(opt.videos);
    if (!duplicates.empty()) {
      std::string message = "two videos would write the same output folder; rename one:";
      for (const auto& d : duplicates) message += "\n  " + d;
      tool.print_error(message);
      return hl::cli::kExitUsage;
    }
    Run run(opt, tool);
    return run.run();
  });
}
