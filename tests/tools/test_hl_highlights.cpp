// hl-train --final and hl-highlights run as a user would, on videos made by the ffmpeg
// command line with planted noise bursts (docs/highlights.md):
// - the final model's file records the segment length, the feature rate and how its
//   features were made, as the feature files say;
// - hl-highlights' scores equal, bit for bit, the scores hl-train --final writes for the
//   same model and videos (predictions.csv), whether the features are reused from a
//   cache or extracted afresh; segments.csv and highlights.json agree; ranks and the
//   chosen segments follow from the scores (checked here from the scores alone);
// - highlights.edl, read back by a CMX 3600 parser written here, gives the chosen
//   segments' frames at the video's rate: 25 fps non-drop-frame, and 29.97 drop-frame
//   past a minute boundary, against drop-frame arithmetic written here;
// - report.html makes no request (no http(s) reference) and holds one JPEG data-URI
//   thumbnail and one marked timeline rectangle per chosen segment;
// - bad inputs (corrupt model, a model needing a feature this build cannot compute, a
//   model trained on features made differently, a video without a video stream, one
//   shorter than a segment, an unwritable output folder) fail with a clear message and
//   leave no output of theirs behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/image.h"
#include "engine/safetensors.h"
#include "media/media_fixtures.h"
#include "nets/highlight_model.h"
#include "support/test_support.h"
#include "tools/edl.h"
#include "tools/file_size_limit.h"

namespace hl {
namespace {

namespace fs = std::filesystem;
using test::run_command;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream s(line);
  std::string cell;
  while (std::getline(s, cell, sep)) out.push_back(cell);
  return out;
}

// video -> score text per segment, from a `video,segment,score` file (hl-train's).
std::map<std::string, std::vector<std::string>> read_predictions(const std::string& path) {
  std::map<std::string, std::vector<std::string>> out;
  std::stringstream in(read_text(path));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto cells = split(line, ',');
    auto& v = out[cells.at(0)];
    EXPECT_EQ(static_cast<size_t>(std::stoll(cells.at(1))), v.size());
    v.push_back(cells.at(2));
  }
  return out;
}

struct CsvRow {
  int64_t segment = 0;
  std::string start, end, score;
  int64_t rank = 0;
};
std::vector<CsvRow> read_segments_csv(const std::string& path) {
  std::stringstream in(read_text(path));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "segment,start,end,score,rank");
  std::vector<CsvRow> rows;
  while (std::getline(in, line)) {
    const auto c = split(line, ',');
    rows.push_back({std::stoll(c.at(0)), c.at(1), c.at(2), c.at(3), std::stoll(c.at(4))});
  }
  return rows;
}

// RFC 4648 base64 (padding allowed), written here rather than taken from the tool.
std::vector<uint8_t> base64_decode(const std::string& text) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    const size_t v = alphabet.find(c);
    EXPECT_NE(v, std::string::npos) << "not base64: " << c;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<uint8_t>((bits >> count) & 0xff));
    }
  }
  return out;
}

float bits_of(const std::string& text) { return std::strtof(text.c_str(), nullptr); }

// ---------------------------------------------------------------------------------------
// An independent CMX 3600 reader: event lines "NNN REEL CHANNEL C SRC_IN SRC_OUT REC_IN REC_OUT".

struct EdlEvent {
  int number = 0;
  std::string src_in, src_out, rec_in, rec_out, clip;
};
struct EdlFile {
  std::string title, fcm;
  std::vector<EdlEvent> events;
};
EdlFile parse_edl(const std::string& text) {
  EdlFile f;
  std::stringstream in(text);
  std::string line;
  const std::regex event(R"(^(\d{3})\s+(\S+)\s+(\S+)\s+C\s+(\d\d:\d\d:\d\d[:;]\d\d)\s+(\d\d:\d\d:\d\d[:;]\d\d)\s+)"
                         R"((\d\d:\d\d:\d\d[:;]\d\d)\s+(\d\d:\d\d:\d\d[:;]\d\d)\s*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("TITLE: ", 0) == 0) f.title = line.substr(7);
    else if (line.rfind("FCM: ", 0) == 0) f.fcm = line.substr(5);
    else if (line.rfind("* FROM CLIP NAME: ", 0) == 0) f.events.back().clip = line.substr(18);
    else if (std::regex_match(line, m, event))
      f.events.push_back({std::stoi(m[1]), m[4], m[5], m[6], m[7], ""});
    else
      EXPECT_TRUE(line.empty()) << "not a CMX 3600 line: " << line;
  }
  return f;
}

// Timecode -> frame count. Non-drop-frame: labels count every frame at `fps`. Drop-frame
// (29.97, SMPTE 12M): the labels ;00 and ;01 do not exist in any minute but every tenth,
// so the count is the label's position less the 2 labels skipped per such minute.
int64_t frames_of(const std::string& tc, int64_t fps, bool drop) {
  const int64_t h = std::stoll(tc.substr(0, 2)), m = std::stoll(tc.substr(3, 2)), s = std::stoll(tc.substr(6, 2)),
                f = std::stoll(tc.substr(9, 2));
  EXPECT_EQ(tc[8], drop ? ';' : ':') << tc;
  EXPECT_LT(f, fps) << tc;
  const int64_t minutes = 60 * h + m;
  if (drop) {
    EXPECT_FALSE(s == 0 && f < 2 && m % 10 != 0) << tc << " is a label drop-frame skips";
  }
  return (3600 * h + 60 * m + s) * fps + f - (drop ? 2 * (minutes - minutes / 10) : 0);
}

// round(seconds * num / den), a half up, in integers.
int64_t frame_at_time(int64_t seconds, int64_t num, int64_t den) { return (2 * seconds * num + den) / (2 * den); }

// ---------------------------------------------------------------------------------------

class HlHighlights : public ::testing::Test {
 protected:
  // Four 30-s 25-fps videos with a planted burst of noise (the highlight), a final mfcc
  // model trained on them, and a 70-s 29.97-fps video it did not see.
  static void SetUpTestSuite() {
    if (test::ffmpeg_cli().empty()) return;
    dir_ = new test::TempDir();
    std::string labels = "video,segment,score\n";
    for (int i = 1; i <= 4; ++i) {
      const int burst = 5 * i;  // the noise burst: segment i
      char volume[160];
      std::snprintf(volume, sizeof volume, "anoisesrc=d=30:c=pink:r=16000:a=0.5:seed=%d,volume='if(between(t,%d,%d),1,0.02)':eval=frame",
                    i, burst, burst + 5);
      test::make_media(file("v" + std::to_string(i) + ".mp4"), {"testsrc=size=64x48:rate=25:duration=30", volume},
                       {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"});
      for (int s = 0; s < 6; ++s)
        labels += "v" + std::to_string(i) + "," + std::to_string(s) + "," + (s == i ? "2" : std::to_string(0.1 * s)) + "\n";
    }
    test::write_file(file("labels.csv"), labels);
    test::make_media(file("ntsc.mp4"),
                     {"testsrc=size=32x24:rate=30000/1001:duration=70",
                      "anoisesrc=d=70:c=pink:r=16000:a=0.5,volume='if(between(t,58,66),1,0.02)':eval=frame"},
                     {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"});
    const auto x = run_command({HL_EXTRACT_PATH, file("v1.mp4"), file("v2.mp4"), file("v3.mp4"), file("v4.mp4"),
                                "--features", "mfcc", "--out", file("features")});
    ASSERT_EQ(x.exit_code, 0) << x.err;
    const auto t = run_command({HL_TRAIN_PATH, "--features", file("features"), "--labels", file("labels.csv"), "--use",
                                "mfcc", "--out", file("model"), "--final", "--epochs", "2", "--batch", "8",
                                "--val-fraction", "0.25"});
    ASSERT_EQ(t.exit_code, 0) << t.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    HL_REQUIRE_FFMPEG_CLI();
    ASSERT_TRUE(fs::exists(model())) << "the suite's set-up failed";
  }

  static std::string file(const std::string& name) { return dir_->file(name); }
  static std::string model() { return file("model/model.safetensors"); }
  std::string out(const std::string& name = "out") const { return here.file(name); }

  static test::CommandResult highlights(std::vector<std::string> args) {
    args.insert(args.begin(), HL_HIGHLIGHTS_PATH);
    return run_command(args);
  }
  // Every entry under `folder`, recursively (names relative to it).
  static std::set<std::string> entries(const std::string& folder) {
    std::set<std::string> names;
    if (fs::exists(folder))
      for (const auto& e : fs::recursive_directory_iterator(folder)) names.insert(fs::relative(e.path(), folder).string());
    return names;
  }

  test::TempDir here;
  static test::TempDir* dir_;
};
test::TempDir* HlHighlights::dir_ = nullptr;

TEST_F(HlHighlights, FinalModelRecordsHowItsFeaturesWereMade) {
  const SafetensorsFile m = SafetensorsFile::open(model());
  const SafetensorsFile f = SafetensorsFile::open(file("features/v1.safetensors"));
  const auto& meta = m.metadata();
  EXPECT_EQ(meta.at("final"), "true");
  EXPECT_EQ(meta.at("segment_seconds"), "5");
  EXPECT_EQ(meta.at("feature_fps"), "30000/1001");
  EXPECT_EQ(meta.at("features"), "mfcc");
  EXPECT_EQ(meta.at("mfcc.extractor"), f.metadata().at("mfcc.extractor"));
  EXPECT_EQ(meta.at("mfcc.weights"), "none");
  EXPECT_EQ(meta.at("training_videos"), "4");
  // Every labelled video scored by the final model, 6 segments each.
  const auto predictions = read_predictions(file("model/predictions.csv"));
  ASSERT_EQ(predictions.size(), 4u);
  for (const auto& [video, scores] : predictions) EXPECT_EQ(scores.size(), 6u) << video;
}

TEST_F(HlHighlights, FinalModelResumesBitIdenticallyAndRefusesMixedExtractions) {
  // Killed right after epoch 1's checkpoint, resumed: the files of an uninterrupted run.
  const std::vector<std::string> train = {HL_TRAIN_PATH, "--features", file("features"), "--labels", file("labels.csv"),
                                          "--use", "mfcc", "--final", "--epochs", "2", "--batch", "8",
                                          "--val-fraction", "0.25", "--out", out("resumed")};
  std::vector<std::string> killed = {"/usr/bin/env", "HL_TEST_KILL_AT=1:2:0"};
  killed.insert(killed.end(), train.begin(), train.end());
  EXPECT_NE(run_command(killed).exit_code, 0);
  EXPECT_FALSE(fs::exists(out("resumed") + "/predictions.csv"));
  std::vector<std::string> resumed = train;
  resumed.push_back("--resume");
  const auto r = run_command(resumed);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"model.safetensors", "predictions.csv"})
    EXPECT_EQ(test::read_file(out("resumed") + "/" + name), test::read_file(file("model") + "/" + name)) << name;

  // One feature file made by another extractor: the model could match no one extraction.
  fs::copy(file("features"), out("mixed"));
  {
    const SafetensorsFile f = SafetensorsFile::open(file("features/v2.safetensors"));
    std::map<std::string, std::string> meta = f.metadata();
    meta["mfcc.extractor"] = "hl mfcc v0: something else";
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const auto& name : f.names()) tensors.push_back({name, f.get(name)});
    fs::remove(out("mixed") + "/v2.safetensors");
    write_safetensors(out("mixed") + "/v2.safetensors", tensors, meta);
  }
  const auto m = run_command({HL_TRAIN_PATH, "--features", out("mixed"), "--labels", file("labels.csv"), "--use", "mfcc",
                              "--final", "--epochs", "1", "--batch", "8", "--out", out("m")});
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_NE(m.err.find("the feature files were made differently"), std::string::npos) << m.err;
  EXPECT_NE(m.err.find("v2.safetensors has 'hl mfcc v0: something else'"), std::string::npos) << m.err;
  EXPECT_FALSE(fs::exists(out("m") + "/model.safetensors"));
}

TEST_F(HlHighlights, ScoresEqualHlTrainsBitForBitAndTheOutputsAgree) {
  const auto predictions = read_predictions(file("model/predictions.csv"));
  // Once reusing the training features (a copy of them as the cache), once extracting afresh.
  fs::copy(file("features"), out("cache"));
  for (const bool cached : {true, false}) {
    SCOPED_TRACE(cached ? "features from the cache" : "features extracted afresh");
    std::vector<std::string> args = {file("v1.mp4"), file("v2.mp4"), file("v3.mp4"), file("v4.mp4"),
                                     "--model", model(), "--out", out(cached ? "a" : "b"), "--top", "2"};
    if (cached) args.insert(args.end(), {"--features-cache", out("cache")});
    const auto r = highlights(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (int i = 1; i <= 4; ++i) {
      const std::string id = "v" + std::to_string(i);
      const std::string folder = out(cached ? "a" : "b") + "/" + id;
      const std::vector<CsvRow> rows = read_segments_csv(folder + "/segments.csv");
      const std::vector<std::string>& expected = predictions.at(id);
      ASSERT_EQ(rows.size(), expected.size()) << id;
      std::vector<float> scores;
      for (size_t s = 0; s < rows.size(); ++s) {
        EXPECT_EQ(rows[s].segment, static_cast<int64_t>(s));
        char start[32], end[32];
        std::snprintf(start, sizeof start, "%.3f", 5.0 * static_cast<double>(s));
        std::snprintf(end, sizeof end, "%.3f", 5.0 * static_cast<double>(s + 1));
        EXPECT_EQ(rows[s].start, start);
        EXPECT_EQ(rows[s].end, end);
        const float ours = bits_of(rows[s].score), theirs = bits_of(expected[s]);
        EXPECT_EQ(std::memcmp(&ours, &theirs, sizeof ours), 0)
            << id << " segment " << s << ": " << rows[s].score << " vs hl-train's " << expected[s];
        scores.push_back(ours);
      }
      // Ranks from the scores alone: 1 + the segments scored higher (or equal and earlier).
      std::vector<int64_t> chosen;
      for (size_t s = 0; s < scores.size(); ++s) {
        int64_t rank = 1;
        for (size_t o = 0; o < scores.size(); ++o)
          if (scores[o] > scores[s] || (scores[o] == scores[s] && o < s)) ++rank;
        EXPECT_EQ(rows[s].rank, rank) << id << " segment " << s;
        if (rank <= 2) chosen.push_back(static_cast<int64_t>(s));
      }
      // The JSON says the same.
      const nlohmann::json j = nlohmann::json::parse(read_text(folder + "/highlights.json"));
      EXPECT_EQ(j.at("video").get<std::string>(), file(id + ".mp4"));
      EXPECT_EQ(j.at("model").get<std::string>(), model());
      ASSERT_EQ(j.at("segments").size(), rows.size());
      for (size_t s = 0; s < rows.size(); ++s) {
        const auto& seg = j.at("segments")[s];
        EXPECT_EQ(seg.at("segment").get<int64_t>(), static_cast<int64_t>(s));
        EXPECT_EQ(seg.at("start").get<double>(), 5.0 * static_cast<double>(s));
        EXPECT_EQ(seg.at("end").get<double>(), 5.0 * static_cast<double>(s + 1));
        EXPECT_EQ(static_cast<float>(seg.at("score").get<double>()), scores[s]);
        EXPECT_EQ(seg.at("rank").get<int64_t>(), rows[s].rank);
      }
      EXPECT_EQ(j.at("top").get<std::vector<int64_t>>(), chosen) << id;
    }
  }
  // The cache was reused (not rewritten) and filled nothing new; the fresh run left no
  // temporary features behind.
  EXPECT_EQ(entries(out("b")), (std::set<std::string>{"v1", "v2", "v3", "v4", "v1/segments.csv", "v1/highlights.json",
                                                       "v1/highlights.edl", "v1/report.html", "v2/segments.csv",
                                                       "v2/highlights.json", "v2/highlights.edl", "v2/report.html",
                                                       "v3/segments.csv", "v3/highlights.json", "v3/highlights.edl",
                                                       "v3/report.html", "v4/segments.csv", "v4/highlights.json",
                                                       "v4/highlights.edl", "v4/report.html"}));
}

TEST_F(HlHighlights, EdlReadsBackToTheChosenSegmentsAt25Fps) {
  const auto r = highlights({file("v3.mp4"), "--model", model(), "--out", out(), "--top", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(read_text(out() + "/v3/highlights.json"));
  const auto top = j.at("top").get<std::vector<int64_t>>();
  ASSERT_EQ(top.size(), 3u);
  // --max-duration 12: the two best-ranked 5-s segments (10 s fit, 15 s do not).
  const auto d = highlights({file("v3.mp4"), "--model", model(), "--out", out("d"), "--max-duration", "12"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const auto rows = read_segments_csv(out("d") + "/v3/segments.csv");
  std::vector<int64_t> best_two;
  for (const CsvRow& row : rows)
    if (row.rank <= 2) best_two.push_back(row.segment);
  EXPECT_EQ(nlohmann::json::parse(read_text(out("d") + "/v3/highlights.json")).at("top").get<std::vector<int64_t>>(),
            best_two);
  const EdlFile edl = parse_edl(read_text(out() + "/v3/highlights.edl"));
  EXPECT_EQ(edl.fcm, "NON-DROP FRAME");
  ASSERT_EQ(edl.events.size(), top.size());
  int64_t record = 3600 * 25;  // the timeline starts at 01:00:00:00
  for (size_t e = 0; e < top.size(); ++e) {
    EXPECT_EQ(edl.events[e].number, static_cast<int>(e + 1));
    EXPECT_EQ(edl.events[e].clip, "v3.mp4");
    EXPECT_EQ(frames_of(edl.events[e].src_in, 25, false), 125 * top[e]);
    EXPECT_EQ(frames_of(edl.events[e].src_out, 25, false), 125 * (top[e] + 1));
    EXPECT_EQ(frames_of(edl.events[e].rec_in, 25, false), record);
    record += 125;
    EXPECT_EQ(frames_of(edl.events[e].rec_out, 25, false), record);
  }
}

TEST_F(HlHighlights, EdlIsDropFrameAt2997AcrossAMinute) {
  // All 14 segments of the 70-s video: boundaries at 60 and 65 s lie past the first
  // minute, where drop-frame labels start skipping.
  const auto r = highlights({file("ntsc.mp4"), "--model", model(), "--out", out(), "--top", "14", "--format", "edl,json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(entries(out()), (std::set<std::string>{"ntsc", "ntsc/highlights.edl", "ntsc/highlights.json"}));
  const EdlFile edl = parse_edl(read_text(out() + "/ntsc/highlights.edl"));
  EXPECT_EQ(edl.fcm, "DROP FRAME");
  ASSERT_EQ(edl.events.size(), 14u);
  int64_t record = 108000 - 108;  // 01:00:00;00: an hour of labels less 2 x 54 skipped
  for (int64_t s = 0; s < 14; ++s) {
    const EdlEvent& e = edl.events[static_cast<size_t>(s)];
    EXPECT_EQ(frames_of(e.src_in, 30, true), frame_at_time(5 * s, 30000, 1001)) << e.src_in;
    EXPECT_EQ(frames_of(e.src_out, 30, true), frame_at_time(5 * (s + 1), 30000, 1001)) << e.src_out;
    EXPECT_EQ(frames_of(e.rec_in, 30, true), record) << e.rec_in;
    record += frame_at_time(5 * (s + 1), 30000, 1001) - frame_at_time(5 * s, 30000, 1001);
    EXPECT_EQ(frames_of(e.rec_out, 30, true), record) << e.rec_out;
  }
  // 60 s is frame 1798, still in minute 0 (1800 labels, none skipped); 65 s is frame
  // 1948, 148 frames into minute 1, whose labels start at ;02: 00:01:05;00.
  EXPECT_EQ(edl.events[12].src_in, "00:00:59;28");
  EXPECT_EQ(edl.events[13].src_in, "00:01:05;00");
}

TEST_F(HlHighlights, DropFrameTimecodesReadBackOverHours) {
  // Every frame of the first 12 minutes and samples to 10 hours, at 29.97 and 59.94.
  const edl::TimecodeBase ntsc = edl::timecode_base({30000, 1001});
  for (int64_t f = 0; f < 12 * 60 * 30; ++f) ASSERT_EQ(frames_of(edl::timecode(f, ntsc), 30, true), f) << f;
  for (int64_t f = 0; f < 10 * 107892; f += 997) ASSERT_EQ(frames_of(edl::timecode(f, ntsc), 30, true), f) << f;
  EXPECT_EQ(edl::timecode(17982, ntsc), "00:10:00;00");  // the tenth minute keeps ;00
  EXPECT_EQ(edl::timecode(1799, ntsc), "00:00:59;29");
  EXPECT_EQ(edl::timecode(1800, ntsc), "00:01:00;02");  // minute 1 skips ;00 and ;01
  EXPECT_EQ(edl::timecode(90000, edl::timecode_base({25, 1})), "01:00:00:00");
  EXPECT_EQ(edl::timecode(86400, edl::timecode_base({24000, 1001})), "01:00:00:00");
}

TEST_F(HlHighlights, ReportIsSelfContainedWithOneThumbnailPerChosenSegment) {
  const auto r = highlights({file("v2.mp4"), "--model", model(), "--out", out(), "--top", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = read_text(out() + "/v2/report.html");
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  const auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t p = html.find(what); p != std::string::npos; p = html.find(what, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<img class=\"thumb\""), 3u);
  EXPECT_EQ(count("src=\"data:image/jpeg;base64,/9j/"), 3u);  // base64 of a JPEG's FF D8 FF
  EXPECT_EQ(count("<rect class=\"chosen\""), 3u);
  EXPECT_EQ(count("src="), 3u);  // nothing else is loaded
  const nlohmann::json j = nlohmann::json::parse(read_text(out() + "/v2/highlights.json"));
  const auto top = j.at("top").get<std::vector<int64_t>>();
  for (int64_t s : top)
    EXPECT_NE(html.find("<rect class=\"chosen\" data-segment=\"" + std::to_string(s) + "\""), std::string::npos) << s;

  // Each thumbnail is the frame at its segment's middle: decoded by libjpeg (engine/image)
  // and compared with the frame the ffmpeg CLI decodes at that time. Mean |difference|
  // below 17 of 255: JPEG at quality 80 with 4:2:0 chroma on a 64x48 colour-bar pattern
  // costs about 12 (measured), while this video's frames 5 s apart differ by 22 or more;
  // and closer to that frame than to the frames 5 s before and after.
  const auto frame_at = [&](double t) {
    const std::string rgb = test::run_ffmpeg({"-ss", std::to_string(t), "-i", file("v2.mp4"), "-frames:v", "1", "-f",
                                              "rawvideo", "-pix_fmt", "rgb24", "-"});
    EXPECT_EQ(rgb.size(), 64u * 48u * 3u);
    return rgb;
  };
  const auto mean_difference = [](const Tensor& image, const std::string& rgb) {
    double sum = 0;
    const uint8_t* p = image.data<uint8_t>();
    for (size_t i = 0; i < rgb.size(); ++i) sum += std::abs(double(p[i]) - double(static_cast<uint8_t>(rgb[i])));
    return sum / static_cast<double>(rgb.size());
  };
  size_t at = 0;
  for (int64_t s : top) {
    const size_t begin = html.find("base64,", html.find("<img class=\"thumb\"", at)) + 7;
    at = html.find('"', begin);
    const std::vector<uint8_t> jpeg = base64_decode(html.substr(begin, at - begin));
    const Tensor image = decode_image_rgb(jpeg.data(), jpeg.size(), "thumbnail " + std::to_string(s));
    ASSERT_EQ(image.shape(), Shape({48, 64, 3}));
    const double middle = 5.0 * static_cast<double>(s) + 2.5;
    const double here = mean_difference(image, frame_at(middle));
    EXPECT_LT(here, 17.0) << "segment " << s;
    if (middle > 5) {
      EXPECT_LT(here, mean_difference(image, frame_at(middle - 5))) << "segment " << s;
    }
    if (middle + 5 < 30) {
      EXPECT_LT(here, mean_difference(image, frame_at(middle + 5))) << "segment " << s;
    }
  }
}

TEST_F(HlHighlights, BadInputsFailClearlyAndLeaveNoOutput) {
  // A corrupt model: nothing is created.
  const std::string corrupt = out("corrupt.safetensors");
  std::vector<uint8_t> bytes = test::read_file(model());
  bytes.resize(bytes.size() / 2);
  test::write_file(corrupt, bytes);
  auto r = highlights({file("v1.mp4"), "--model", corrupt, "--out", out("o1")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(corrupt), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out("o1")));

  // A model needing affect without fer's converted weights (every feature is computable
  // now): the message names the file and the hl-convert command that makes it.
  const std::string affect = out("affect.safetensors");
  HighlightModel(HighlightModelConfig::paper({Feature::Affect, Feature::Mfcc}), 1).save(affect);
  fs::create_directories(out("no-fer-weights"));
  r = highlights({file("v1.mp4"), "--model", affect, "--weights", out("no-fer-weights"), "--out", out("o2")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fer-emotion.safetensors"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hl-convert fer-emotion"), std::string::npos) << r.err;
  EXPECT_EQ(entries(out("o2")), std::set<std::string>{});

  // A model of GoogLeNet features without its converted weights: the message names the
  // hl-convert command that makes them.
  const std::string visual = out("googlenet.safetensors");
  HighlightModel(HighlightModelConfig::paper({Feature::GoogLeNet}), 1).save(visual);
  fs::create_directories(out("no-weights"));
  r = highlights({file("v1.mp4"), "--model", visual, "--weights", out("no-weights"), "--out", out("o5")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hl-convert"), std::string::npos) << r.err;
  EXPECT_EQ(entries(out("o5")), std::set<std::string>{});

  // A model whose mfcc was made by another extractor: refused for every video.
  {
    const SafetensorsFile m = SafetensorsFile::open(model());
    std::map<std::string, std::string> meta = m.metadata();
    meta["mfcc.extractor"] = "hl mfcc v0: something else";
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const auto& name : m.names()) tensors.push_back({name, m.get(name)});
    write_safetensors(out("other.safetensors"), tensors, meta);
  }
  r = highlights({file("v1.mp4"), "--model", out("other.safetensors"), "--out", out("o3")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("made differently"), std::string::npos) << r.err;
  EXPECT_EQ(entries(out("o3")), std::set<std::string>{});

  // A file without video, a video shorter than one segment, and a good video: the good
  // one is written, each bad one named once, exit 1.
  test::make_media(out("audio.m4a"), {"sine=frequency=300:sample_rate=16000:duration=12"}, {"-c:a", "aac"});
  test::make_media(out("short.mp4"), {"testsrc=size=32x24:rate=25:duration=3", "sine=frequency=300:sample_rate=16000:duration=3"},
                   {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"});
  r = highlights({out("audio.m4a"), out("short.mp4"), file("v1.mp4"), "--model", model(), "--out", out("o4")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(out("audio.m4a") + ": has no video stream"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(out("short.mp4") + ": is 3."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("shorter than one 5-s segment"), std::string::npos) << r.err;
  EXPECT_EQ(entries(out("o4")), (std::set<std::string>{"v1", "v1/segments.csv", "v1/highlights.json",
                                                        "v1/highlights.edl", "v1/report.html"}));

  // An output folder that cannot be made (its parent is a file; permissions do not stop root).
  test::write_file(out("file"), std::string("x"));
  r = highlights({file("v1.mp4"), "--model", model(), "--out", out("file") + "/sub"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(out("file") + "/sub: cannot create the output folder"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(out("file")), "x");
}

TEST_F(HlHighlights, AFailedRunKeepsTheEarlierResult) {
  // A first run writes v1; a second run for v1 that fails (its features cannot be
  // written: the cache is a file) leaves the first result as it was, and no staging folder.
  auto r = highlights({file("v1.mp4"), "--model", model(), "--out", out(), "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string before = read_text(out() + "/v1/segments.csv");
  test::write_file(out("cache"), std::string("a file, not a folder"));
  r = highlights({file("v1.mp4"), "--model", model(), "--out", out(), "--features-cache", out("cache")});
  EXPECT_NE(r.err.find("cannot create the features folder"), std::string::npos) << r.err;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(read_text(out() + "/v1/segments.csv"), before);
  EXPECT_EQ(entries(out()), (std::set<std::string>{"v1", "v1/segments.csv"}));

  // A write that fails halfway through the video's files (a file-size limit that
  // segments.csv, highlights.json and highlights.edl fit under and report.html, with six
  // thumbnails, does not; the features come from a cache, so nothing else is written):
  // the error names the file, and the earlier result is left whole, nothing of the new one.
  fs::copy(file("features"), out("features"));
  r = highlights({file("v1.mp4"), "--model", model(), "--out", out(), "--top", "1", "--features-cache", out("features")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string json_before = read_text(out() + "/v1/highlights.json");
  const std::string report_before = read_text(out() + "/v1/report.html");
  ASSERT_LT(report_before.size(), 10000u);
  r = test::run_with_file_size_limit(12, {HL_HIGHLIGHTS_PATH, file("v1.mp4"), "--model", model(), "--out", out(), "--top",
                                          "6", "--features-cache", out("features")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("report.html"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(out() + "/v1/highlights.json"), json_before);
  EXPECT_EQ(read_text(out() + "/v1/report.html"), report_before);
  EXPECT_EQ(entries(out()), (std::set<std::string>{"v1", "v1/segments.csv", "v1/highlights.json", "v1/highlights.edl",
                                                    "v1/report.html"}));
}

TEST_F(HlHighlights, VariableFrameRateVideoIsScored) {
  // Frames 1/25 s apart for 10 s, then 1/10 s apart: a variable frame rate.
  test::make_media(out("vfr.mkv"),
                   {"testsrc=size=32x24:rate=25:duration=20", "anoisesrc=d=20:c=pink:r=16000:a=0.3"},
                   {"-vf", "setpts='if(lt(N,250),N/25,10+(N-250)/10)/TB'", "-fps_mode", "vfr", "-c:v", "ffv1",
                    "-c:a", "flac", "-t", "20"});
  const auto r = highlights({out("vfr.mkv"), "--model", model(), "--out", out(), "--top", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // As many segments as the ffmpeg CLI's fps filter gives 29.97-fps frames (docs/extract.md, "Frames").
  const std::string frames = test::run_ffmpeg({"-i", out("vfr.mkv"), "-map", "0:v:0", "-vf",
                                               "setpts=PTS-STARTPTS,fps=30000/1001:round=up,scale=1:1,format=gray",
                                               "-fps_mode", "passthrough", "-f", "rawvideo", "-"});
  const auto rows = read_segments_csv(out() + "/vfr/segments.csv");
  EXPECT_EQ(rows.size(), frames.size() * 1001 / (30000 * 5)) << frames.size() << " frames";
  EXPECT_GE(rows.size(), 3u);
  const EdlFile edl = parse_edl(read_text(out() + "/vfr/highlights.edl"));
  EXPECT_EQ(edl.events.size(), 1u);
}

}  // namespace
}  // namespace hl
