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

}  // namespace
}  // namespace hl
