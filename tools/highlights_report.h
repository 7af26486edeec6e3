// report.html of hl-highlights (docs/highlights.md): one self-contained page per video,
// nothing fetched from anywhere (inline CSS and SVG, thumbnails as data URIs, no script):
// the score of every segment as an inline SVG timeline with the chosen segments marked,
// one card per chosen segment (thumbnail, times, score, rank), and the model and
// features used.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hl::highlights_report {

struct Segment {
  int64_t index = 0;
  double start = 0, end = 0;  // seconds
  float score = 0;
  int64_t rank = 0;
};

struct Page {
  std::string video;        // the input path as given
  std::string video_id;
  std::string model;        // the model file
  std::string features;     // "mfcc" / "googlenet,mfcc"
  std::string provenance;   // how the features were made, one line per feature
  double duration_seconds = 0;
  std::vector<Segment> segments;  // every scored segment, in time order
  std::vector<int64_t> chosen;    // indices into segments, time order
  std::vector<std::string> thumbnails;  // data URIs, one per chosen segment (may be empty: none made)
};

// "&<>\"'" escaped for HTML text and attribute values.
std::string escape(const std::string& text);

// The page. Chosen segments are <rect class="chosen" data-segment="i"> in the timeline
// and <figure class="highlight" data-segment="i"> cards, one <img class="thumb"> each.
std::string render(const Page& page);

}  // namespace hl::highlights_report
