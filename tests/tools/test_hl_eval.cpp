// hl-eval run as a user would: exit codes, the table, the JSON (values worked out by
// hand from the formulas of specs/paper.md), skipped videos, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;
using test::run_command;

class HlEval : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::string write(const std::string& name, const std::string& text) {
    test::write_file(dir.file(name), text);
    return dir.file(name);
  }
  json read_json(const std::string& name) {
    const auto bytes = test::read_file(dir.file(name));
    return json::parse(bytes);
  }
};

TEST_F(HlEval, MetricsSkippedVideosAndJson) {
  const auto labels = write("labels.csv",
                            "video,segment,score\n"
                            "v1,0,3\nv1,1,1\nv1,2,2\nv1,3,0\n"
                            "v2,0,0\nv2,1,0\nv2,2,0\n"
                            "v3,0,1\nv3,1,2\n");
  const auto pred = write("pred.csv",
                          "video,segment,score\n"
                          "v1,0,0.3\nv1,1,0.1\nv1,2,0.2\nv1,3,0.0\n"
                          "v2,0,1\nv2,1,2\nv2,2,3\n"
                          "v4,0,1\n");
  const auto r = run_command({HL_EVAL_PATH, "--labels", labels, "--pred", pred, "--k", "2", "--json", dir.file("m.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("mean (1 videos)"), std::string::npos) << r.out;
  const json m = read_json("m.json");
  EXPECT_EQ(m["count"], 1);
  // v1 is ranked perfectly: NDCG 1, P@2 1; paper NDCG = (0.3 + 0.2 d2) / (3 + 2 d2).
  const double d2 = 1 / std::log2(3.0);
  const json& v1 = m["videos"]["v1"];
  EXPECT_DOUBLE_EQ(v1["ndcg@2"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(v1["p@2"].get<double>(), 1.0);
  EXPECT_NEAR(v1["ndcg_paper@2"].get<double>(), (0.3 + 0.2 * d2) / (3 + 2 * d2), 1e-15);
  EXPECT_NEAR(v1["chance_ndcg@2"].get<double>(), 1.5 * (1 + d2) / (3 + 2 * d2), 1e-15);
  EXPECT_DOUBLE_EQ(v1["chance_p@2"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["mean"]["ndcg@2"].get<double>(), 1.0);
  // v2: IDCG = 0; v3: no predictions; v4: no labels.
  ASSERT_EQ(m["skipped"].size(), 3u);
  std::string reasons;
  for (const json& s : m["skipped"]) reasons += s["video"].get<std::string>() + ": " + s["reason"].get<std::string>() + "\n";
  EXPECT_NE(reasons.find("v2: every true score in the top 2 is 0"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("v3: no predictions"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("v4: predicted but not in"), std::string::npos) << reasons;
  EXPECT_NE(r.err.find("skipped v3"), std::string::npos);
}

TEST_F(HlEval, Agreement) {
  const auto ann = write("a.csv", "video,segment,ann1,ann2\nv,0,1,1\nv,1,2,3\nv,2,3,2\n");
  const auto labels = write("l.csv", "video,segment,score\nv,0,1\nv,1,2\nv,2,3\n");
  const auto r = run_command({HL_EVAL_PATH, "--agreement", ann, "--labels", labels, "--json", dir.file("a.json"),
                              "--histogram", dir.file("agree")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json a = read_json("a.json");
  // Item variances 1 and 1, totals {2, 5, 5} with variance 3: alpha = 2 (1 - 2/3).
  EXPECT_NEAR(a["videos"]["v"]["alpha"].get<double>(), 2.0 / 3.0, 1e-15);
  // Mean annotation {1, 2.5, 2.5} against {1, 2, 3}: 2 concordant, 1 pair tied in x.
  EXPECT_NEAR(a["videos"]["v"]["kendall_tau_b"].get<double>(), 2 / std::sqrt(6.0), 1e-15);
  EXPECT_NEAR(a["mean"]["alpha"].get<double>(), 2.0 / 3.0, 1e-15);
  for (const char* f : {"agree-alpha.svg", "agree-kendall.svg"}) {
    const auto svg = test::read_file(dir.file(f));
    EXPECT_EQ(std::string(svg.begin(), svg.end()).rfind("<svg", 0), 0u) << f;
  }
}

TEST_F(HlEval, ComparesSeveralPredictionFilesWithABoxPlot) {
  const auto labels = write("labels.csv", "video,segment,score\nv1,0,3\nv1,1,1\nv1,2,2\nv2,0,1\nv2,1,2\nv2,2,3\n");
  const auto good = write("good.csv", "video,segment,score\nv1,0,3\nv1,1,1\nv1,2,2\nv2,0,1\nv2,1,2\nv2,2,3\n");
  const auto bad = write("bad.csv", "video,segment,score\nv1,0,1\nv1,1,3\nv1,2,2\nv2,0,3\nv2,1,2\nv2,2,1\n");
  const auto r = run_command({HL_EVAL_PATH, "--labels", labels, "--pred", good, "--pred", bad, "--names", "perfect,reversed",
                              "--k", "1", "--boxplot", dir.file("box.svg"), "--json", dir.file("c.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("perfect"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reversed"), std::string::npos) << r.out;
  const json c = read_json("c.json");
  EXPECT_DOUBLE_EQ(c["runs"]["perfect"]["mean"]["ndcg@1"].get<double>(), 1.0);
  // Reversed: v1 ranks segment 1 (true 1) first against the ideal 3: 1/3; v2: 1/3.
  EXPECT_DOUBLE_EQ(c["runs"]["reversed"]["mean"]["ndcg@1"].get<double>(), 1.0 / 3.0);
  const auto svg = test::read_file(dir.file("box.svg"));
  const std::string text(svg.begin(), svg.end());
  EXPECT_EQ(text.rfind("<svg", 0), 0u);
  size_t boxes = 0;
  for (size_t at = text.find("fill=\"#9ecae1\""); at != std::string::npos; at = text.find("fill=\"#9ecae1\"", at + 1))
    ++boxes;
  EXPECT_EQ(boxes, 2u);  // one box per prediction file
  EXPECT_NE(text.find("perfect"), std::string::npos);
}

TEST_F(HlEval, BadInput) {
  const auto good = write("good.csv", "video,segment,score\nv,0,1\nv,1,2\n");
  const auto bad = write("bad.csv", "video,segment,score\nv,0,1\nv,1\n");
  auto r = run_command({HL_EVAL_PATH, "--labels", good, "--pred", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hl-eval: error: " + bad + ":3: expected 3 fields, got 2"), std::string::npos) << r.err;

  r = run_command({HL_EVAL_PATH, "--labels", good, "--pred", dir.file("missing.csv")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing.csv"), std::string::npos) << r.err;

  r = run_command({HL_EVAL_PATH, "--labels", good});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--labels and --pred are both needed"), std::string::npos) << r.err;

  // A failed run leaves an existing JSON output untouched.
  test::write_file(dir.file("keep.json"), std::string("{\"old\": true}"));
  r = run_command({HL_EVAL_PATH, "--labels", good, "--pred", bad, "--json", dir.file("keep.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(read_json("keep.json")["old"], true);

  r = run_command({HL_EVAL_PATH, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--agreement"), std::string::npos);
}

// Mean annotations that tie only in exact arithmetic: {0.1, 0.2} and {0.3, 0} both
// average 0.15, but 0.1/2 + 0.2/2 is 0.15000000000000002 in double while 0.3/2 + 0/2 is
// 0.15, which made the first segment rank above the second.
TEST_F(HlEval, KendallTiesOfMeanAnnotationsAreExact) {
  const auto ann = write("a.csv", "video,segment,ann1,ann2\nv,0,0.1,0.2\nv,1,0.3,0\nv,2,0.5,0.5\n");
  const auto labels = write("l.csv", "video,segment,score\nv,0,1\nv,1,2\nv,2,3\n");
  const auto r = run_command({HL_EVAL_PATH, "--agreement", ann, "--labels", labels, "--json", dir.file("a.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Means {0.15, 0.15, 0.5} against {1, 2, 3}: (0,1) tied in x, (0,2) and (1,2)
  // concordant: tau_b = 2 / sqrt((3 - 1)(3 - 0)). (With the tie lost: (2 - 1) / 3.)
  EXPECT_NEAR(read_json("a.json")["videos"]["v"]["kendall_tau_b"].get<double>(), 2 / std::sqrt(6.0), 1e-15);
}

TEST_F(HlEval, NegativeLabelsAreRefusedNegativePredictionsAreNot) {
  const auto labels = write("l.csv", "video,segment,score\nv,0,1\nv,1,-2\n");
  const auto good = write("good.csv", "video,segment,score\nv,0,1\nv,1,2\n");
  const auto negative = write("neg.csv", "video,segment,score\nv,0,-1\nv,1,-2\n");
  auto r = run_command({HL_EVAL_PATH, "--labels", labels, "--pred", good});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hl-eval: error: " + labels + ":3: column 'score': the label -2 is negative"),
            std::string::npos) << r.err;
  r = run_command({HL_EVAL_PATH, "--labels", good, "--pred", negative, "--k", "1", "--json", dir.file("m.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // p = {-1, -2} puts segment 0 (gain 1) first, the ideal is segment 1 (gain 2): NDCG@1 = 1/2.
  EXPECT_DOUBLE_EQ(read_json("m.json")["mean"]["ndcg@1"].get<double>(), 0.5);
}

TEST_F(HlEval, HostileFilesAndOptionsGetPlainMessages) {
  const auto good = write("good.csv", "video,segment,score\nv,0,1\nv,1,2\n");
  // An endless device: refused at once, not read into memory.
  auto r = run_command({HL_EVAL_PATH, "--labels", "/dev/zero", "--pred", good});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/dev/zero:1: a NUL byte: this is binary data, not a text file"), std::string::npos) << r.err;
  // A byte-order mark, as spreadsheet programs write.
  const auto bom = write("bom.csv", "\xEF\xBB\xBFvideo,segment,score\r\nv,0,1\r\nv,1,2\r\n");
  r = run_command({HL_EVAL_PATH, "--labels", bom, "--pred", good, "--k", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // An id that would leave the features folder, one that rewrites the terminal.
  const auto escape = write("escape.csv", "video,segment,score\n../../outside/escaped,0,1\n");
  r = run_command({HL_EVAL_PATH, "--labels", escape, "--pred", good});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(escape + ":2: video id '../../outside/escaped' contains '/'"), std::string::npos) << r.err;
  const auto terminal = write("terminal.csv", "video,segment,score\n\"\x1b[2J\",0,1\n");
  r = run_command({HL_EVAL_PATH, "--labels", good, "--pred", terminal});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("video id '\\x1b[2J' contains a control character"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos);
  // --k 0: a plain message, not the range of a double (309 digits).
  for (const char* k : {"0", "-3", "1.5", "5,0"}) {
    r = run_command({HL_EVAL_PATH, "--labels", good, "--pred", good, "--k", k});
    EXPECT_EQ(r.exit_code, 2) << k;
    EXPECT_NE(r.err.find("is not a whole number from 1 to 1000000"), std::string::npos) << k << ": " << r.err;
    EXPECT_LT(r.err.size(), 200u) << r.err;
  }
}

}  // namespace
}  // namespace hl
