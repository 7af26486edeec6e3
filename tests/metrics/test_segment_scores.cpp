// CSV parsing of label/prediction and annotation files, and its error messages.
#include <gtest/gtest.h>

#include <functional>

#include "engine/csv.h"
#include "engine/error.h"
#include "engine/segment_scores.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::error_of;

TEST(Csv, QuotesCommasAndCrlf) {
  const CsvTable t = parse_csv("video,segment,score\r\n\"a,b\",0,1.5\r\n\"say \"\"hi\"\"\",1,2\r\n\r\n", "x.csv");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].fields[0], "a,b");
  EXPECT_EQ(t.rows[1].fields[0], "say \"hi\"");
  EXPECT_EQ(t.rows[1].line, 3);
}

TEST(Csv, ErrorsNameFileAndLine) {
  EXPECT_NE(error_of([] { parse_csv("a,b\n1,2\n3\n", "f.csv"); }).find("f.csv:3: expected 2 fields, got 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_csv("a,b\n\"1,2\n", "f.csv"); }).find("never closed"), std::string::npos);
  EXPECT_NE(error_of([] { parse_csv("", "f.csv"); }).find("f.csv: the file is empty"), std::string::npos);
  EXPECT_NE(error_of([] { read_csv("/nonexistent/x.csv"); }).find("/nonexistent/x.csv: cannot open"),
            std::string::npos);
}

TEST(SegmentScores, ReadsAndOrdersBySegment) {
  test::TempDir dir;
  const std::string path = dir.file("labels.csv");
  test::write_file(path, "video,segment,score\nv2,1,0.5\nv1,0,1\nv2,0,0.25\nv1,1,2\nv1,2,3\n");
  const SegmentScores s = read_segment_scores(path);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.at("v1"), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(s.at("v2"), (std::vector<double>{0.25, 0.5}));
}

TEST(SegmentScores, RejectsBadRows) {
  test::TempDir dir;
  const std::string path = dir.file("l.csv");
  auto bad = [&](const std::string& text) {
    test::write_file(path, text);
    return error_of([&] { read_segment_scores(path); });
  };
  EXPECT_NE(bad("video,segment,score\nv,0,1\nv,0,2\n").find("l.csv:3: video 'v' segment 0 appears twice"),
            std::string::npos);
  EXPECT_NE(bad("video,segment,score\nv,0,1\nv,2,2\n").find("video 'v' has no row for segment 1"), std::string::npos);
  EXPECT_NE(bad("video,segment,score\nv,0,abc\n").find("l.csv:2: column 'score': 'abc' is not a finite number"),
            std::string::npos);
  EXPECT_NE(bad("video,segment,score\nv,0,nan\n").find("not a finite number"), std::string::npos);
  EXPECT_NE(bad("video,segment,score\nv,-1,1\n").find("not a non-negative integer"), std::string::npos);
  EXPECT_NE(bad("video,seg,score\nv,0,1\n").find("no column 'segment'"), std::string::npos);
  EXPECT_NE(bad("video,segment,score\n").find("no rows"), std::string::npos);
}

TEST(SegmentScores, Annotations) {
  test::TempDir dir;
  const std::string path = dir.file("a.csv");
  test::write_file(path, "video,segment,ann1,ann2,ann3\nv,1,4,5,6\nv,0,1,2,3\n");
  const Annotations a = read_annotations(path);
  EXPECT_EQ(a.annotators, (std::vector<std::string>{"ann1", "ann2", "ann3"}));
  const auto& r = a.videos.at("v");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1], (std::vector<double>{2, 5}));
  test::write_file(path, "video,segment,ann1\nv,0,1\n");
  EXPECT_NE(error_of([&] { read_annotations(path); }).find("at least 2 annotator columns"), std::string::npos);
}

}  // namespace
}  // namespace hl
