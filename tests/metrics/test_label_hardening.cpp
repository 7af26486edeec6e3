// Hostile and unusual label, prediction and annotation files (issue 18): size limits and
// endless inputs, binary and UTF-16 data, a UTF-8 byte-order mark, video ids that would
// escape the feature folder or garble a terminal, negative labels, and the exact ties of
// mean annotations. Expected values are worked out here by hand.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "engine/csv.h"
#include "engine/error.h"
#include "engine/exact_decimal.h"
#include "engine/segment_scores.h"
#include "engine/text_file.h"
#include "engine/video_id.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::error_of;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------
// Size limits and what is not text

TEST(CsvLimits, ABinaryDeviceIsRefusedAtItsFirstByte) {
  const std::string e = error_of([] { read_csv("/dev/zero"); });
  EXPECT_TRUE(contains(e, "/dev/zero:1: a NUL byte: this is binary data, not a text file")) << e;
}

TEST(CsvLimits, AFileOverTheLimitIsRefusedBeforeReading) {
  test::TempDir dir;
  const std::string path = dir.file("huge.csv");
  // A sparse file one byte over 256 MiB: refused from its size, nothing is read.
  test::write_file(path, std::string("video,segment,score\n"));
  std::filesystem::resize_file(path, (256ull << 20) + 1);
  const std::string e = error_of([&] { read_csv(path); });
  EXPECT_TRUE(contains(e, path + ": the file is 268435457 bytes, more than the limit of 256 MiB")) << e;
}

TEST(CsvLimits, ALongLineIsRefusedWithItsNumber) {
  test::TempDir dir;
  const std::string path = dir.file("long.csv");
  test::write_file(path, "video,segment,score\nv,0," + std::string(70000, '1') + "\n");
  const std::string e = error_of([&] { read_csv(path); });
  EXPECT_TRUE(contains(e, path + ":2: the line is longer than the limit of 64 KiB")) << e;
  // A line of exactly the limit is fine (CRLF ends do not count).
  EXPECT_NO_THROW(read_text_file(path, {1 << 20, 70000 + 4}));
}

TEST(CsvLimits, AnEndlessPipeStopsAtTheLimit) {
  test::TempDir dir;
  const std::string fifo = dir.file("endless");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::signal(SIGPIPE, SIG_IGN);  // the writer sees EPIPE once the reader gives up
  std::thread writer([&] {
    FILE* f = std::fopen(fifo.c_str(), "w");
    if (!f) return;
    while (std::fputs("v,0,1\n", f) >= 0 && std::fflush(f) == 0) {
    }
    std::fclose(f);
  });
  const std::string e = error_of([&] { read_text_file(fifo, {1 << 20, 100}); });
  writer.join();
  EXPECT_TRUE(contains(e, fifo + ": more than the limit of 1 MiB")) << e;
}

TEST(CsvLimits, DirectoriesAndUtf16AreNamed) {
  test::TempDir dir;
  EXPECT_TRUE(contains(error_of([&] { read_csv(dir.path().string()); }), "is a directory, not a file"));
  const std::string path = dir.file("utf16.csv");
  test::write_file(path, std::vector<uint8_t>{0xFF, 0xFE, 'v', 0, 'i', 0, '\n', 0});
  const std::string e = error_of([&] { read_csv(path); });
  EXPECT_TRUE(contains(e, path + ": is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8")) << e;
}

TEST(Csv, AUtf8ByteOrderMarkIsDropped) {
  const CsvTable t = parse_csv("\xEF\xBB\xBFvideo,segment,score\nv,0,1\n", "bom.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"video", "segment", "score"}));
  test::TempDir dir;
  const std::string path = dir.file("bom.csv");
  test::write_file(path, "\xEF\xBB\xBFvideo,segment,score\r\nv,0,1\r\nv,1,2\r\n");
  EXPECT_EQ(read_segment_scores(path).at("v"), (std::vector<double>{1, 2}));
  // Only at the start: elsewhere it is part of a field.
  EXPECT_EQ(parse_csv("a\n\xEF\xBB\xBFx\n", "f.csv").rows[0].fields[0], "\xEF\xBB\xBFx");
}

TEST(Csv, MessagesQuoteWhatTheFileSays) {
  // A field with a terminal escape is shown escaped, and a huge one cut short.
  const std::string e = error_of([] { parse_segment_scores("video,segment,score\nv,0,\x1b[2J\n", "f.csv"); });
  EXPECT_TRUE(contains(e, "f.csv:2: column 'score': '\\x1b[2J' is not a finite number")) << e;
  EXPECT_FALSE(contains(e, "\x1b"));
  const std::string big =
      error_of([] { parse_segment_scores("video,segment,score\nv,0," + std::string(5000, 'x') + "\n", "f.csv"); });
  EXPECT_TRUE(contains(big, "...' (5000 bytes) is not a finite number")) << big.size();
  EXPECT_LT(big.size(), 200u);
}

// ---------------------------------------------------------------------------------
// Video ids

TEST(VideoId, WhatIsAllowed) {
  for (const char* ok : {"v1", "-esJrBWj2d8", "St Maarten Landing", "talk.v2", "Air_Force_One", "日本語のビデオ",
                         "a+b=c (2)", "...x"})
    EXPECT_EQ(video_id_problem(ok), "") << ok;
  EXPECT_EQ(video_id_problem(std::string(200, 'a')), "");
  EXPECT_EQ(video_id_problem(std::string(201, 'a')), "is 201 bytes long, more than the limit of 200");
  EXPECT_EQ(video_id_problem(""), "is empty");
  EXPECT_EQ(video_id_problem(".."), "is not a file name");
  EXPECT_EQ(video_id_problem("."), "is not a file name");
  for (const char* slash : {"../../outside/escaped", "/etc/passwd", "a\\b", "sub/v"})
    EXPECT_EQ(video_id_problem(slash), "contains '/' or '\\' (an id names a file inside a folder)") << slash;
  EXPECT_EQ(video_id_problem(std::string("a\0b", 3)), "contains a control character");
  EXPECT_EQ(video_id_problem("red\x1b[31m"), "contains a control character");
  EXPECT_EQ(video_id_problem("c1\xC2\x9B"), "contains a control character");  // U+009B, the 8-bit CSI
  EXPECT_EQ(video_id_problem("bad\xFF"), "is not valid UTF-8 text");
  EXPECT_EQ(video_id_problem("over\xC0\xAF"), "is not valid UTF-8 text");  // an overlong '/'
  EXPECT_EQ(video_id_problem("a,b"), "contains ',' or '\"' (ids are written to CSV files unquoted)");
  EXPECT_EQ(video_id_problem(" v"), "starts or ends with a space");
}

TEST(VideoId, ReadersRefuseBadIdsWithTheRow) {
  auto labels = [](const std::string& rows) {
    return error_of([&] { parse_segment_scores("video,segment,score\nok,0,1\n" + rows, "l.csv"); });
  };
  EXPECT_TRUE(contains(labels("../../outside/escaped,0,1\n"),
                       "l.csv:3: video id '../../outside/escaped' contains '/' or '\\'"));
  const std::string long_id = labels(std::string(300, 'x') + ",0,1\n");
  EXPECT_TRUE(contains(long_id, "l.csv:3: video id 'xxxx")) << long_id;
  EXPECT_TRUE(contains(long_id, "...' (300 bytes) is 300 bytes long, more than the limit of 200")) << long_id;
  const std::string esc = labels("\"\x1b]0;owned\x07\",0,1\n");
  EXPECT_TRUE(contains(esc, "l.csv:3: video id '\\x1b]0;owned\\x07' contains a control character")) << esc;
  EXPECT_FALSE(contains(esc, "\x1b"));
  EXPECT_TRUE(contains(labels(std::string("a\0b,0,1\n", 8)), "video id 'a\\x00b' contains a control character"));
  EXPECT_TRUE(contains(labels("\"a,b\",0,1\n"), "l.csv:3: video id 'a,b' contains ','"));
  EXPECT_TRUE(contains(labels(",0,1\n"), "l.csv:3: video id '' is empty"));
  EXPECT_TRUE(contains(error_of([] { parse_annotations("video,segment,a,b\n..,0,1,2\n", "a.csv"); }),
                       "a.csv:2: video id '..' is not a file name"));
}

// ---------------------------------------------------------------------------------
// Negative labels

TEST(SegmentScores, NegativeLabelsAreRefusedPredictionsAreNot) {
  const std::string text = "video,segment,score\nv,0,1\nv,1,-0.5\n";
  const std::string e = error_of([&] { parse_segment_scores(text, "l.csv"); });
  EXPECT_TRUE(contains(e, "l.csv:3: column 'score': the label -0.5 is negative; labels are the gains of NDCG and "
                          "must be >= 0")) << e;
  EXPECT_EQ(parse_segment_scores(text, "p.csv", ScoreKind::Predictions).at("v"), (std::vector<double>{1, -0.5}));
  EXPECT_EQ(parse_segment_scores("video,segment,score\nv,0,0\nv,1,-0\n", "l.csv").at("v").size(), 2u);
}

// ---------------------------------------------------------------------------------
// Exact mean annotations

TEST(ExactDecimal, ParsesDecimalTextExactly) {
  auto value = [](const char* text) {
    const auto d = parse_exact_decimal(text);
    EXPECT_TRUE(d.has_value()) << text;
    return d ? std::make_pair(static_cast<long long>(d->digits), d->exponent) : std::make_pair(0LL, 0);
  };
  EXPECT_EQ(value("3"), std::make_pair(3LL, 0));
  EXPECT_EQ(value("-0.25"), std::make_pair(-25LL, -2));
  EXPECT_EQ(value("0.05"), std::make_pair(5LL, -2));
  EXPECT_EQ(value("1.50"), std::make_pair(150LL, -2));
  EXPECT_EQ(value("1.5e-3"), std::make_pair(15LL, -4));
  EXPECT_EQ(value("+2E2"), std::make_pair(2LL, 2));
  EXPECT_EQ(value(".5"), std::make_pair(5LL, -1));
  EXPECT_EQ(value("-0.000"), std::make_pair(0LL, 0));
  for (const char* no : {"", "-", ".", "1e", "1e+", "abc", "1.2.3", "0x10", "inf", "1e999", "1 "})
    EXPECT_FALSE(parse_exact_decimal(no).has_value()) << no;
  EXPECT_TRUE(parse_exact_decimal(std::string(36, '9')).has_value());
  EXPECT_FALSE(parse_exact_decimal(std::string(37, '9')).has_value());
}

TEST(ExactDecimal, SumRanksTieExactly) {
  auto d = [](const char* t) { return *parse_exact_decimal(t); };
  // Segment sums: 0.1+0.2 = 0.3+0 = 0.3 (a tie in decimals, not in binary), 0.25+0.1 = 0.35, 0+0 = 0.
  const std::vector<std::vector<ExactDecimal>> values = {{d("0.1"), d("0.3"), d("0.25"), d("0")},
                                                         {d("0.2"), d("0"), d("0.1"), d("0")}};
  EXPECT_EQ(*exact_sum_ranks(values), (std::vector<double>{1, 1, 2, 0}));
  // Sums that do not fit 127 bits: nullopt, the caller falls back.
  EXPECT_FALSE(exact_sum_ranks({{d("1e60")}, {d("1e-60")}}).has_value());
}

TEST(SegmentScores, MeanRanksDoNotDependOnTheAnnotatorsOrder) {
  // 20 annotators: in segment 0 they give 1.1 (x10) then 2.3 (x10), in segment 1 the
  // same scores interleaved: both means are 1.7 exactly. A sum of a/20 in file order
  // gives 1.7 and 1.6999999999999997 (python3), which turned the tie into an order.
  std::string header = "video,segment", row0 = "v,0", row1 = "v,1", row2 = "v,2";
  for (int j = 0; j < 20; ++j) {
    header += ",a" + std::to_string(j);
    row0 += j < 10 ? ",1.1" : ",2.3";
    row1 += j % 2 ? ",2.3" : ",1.1";
    row2 += ",1";
  }
  const Annotations a = parse_annotations(header + "\n" + row0 + "\n" + row1 + "\n" + row2 + "\n", "a.csv");
  EXPECT_EQ(a.mean_ranks.at("v"), (std::vector<double>{1, 1, 0}));
  // Decimals that tie only in exact arithmetic, and a fallback for values beyond it.
  const Annotations b = parse_annotations("video,segment,x,y\nv,0,0.1,0.2\nv,1,0.3,0\nv,2,0.5,-1\n", "b.csv");
  EXPECT_EQ(b.mean_ranks.at("v"), (std::vector<double>{1, 1, 0}));
  const Annotations c = parse_annotations("video,segment,x,y\nv,0,1e300,1e-300\nv,1,1e-300,1e300\nv,2,0,0\n", "c.csv");
  EXPECT_EQ(c.mean_ranks.at("v"), (std::vector<double>{1, 1, 0}));
}

}  // namespace
}  // namespace hl
