// The writer is atomic: a failed write leaves an existing file exactly as it was and no
// temporary file behind; it refuses input that would make an unreadable file.
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>

#include "engine/safetensors.h"
#include "support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Expects `fn` to throw hl::Error whose message contains `path` and `expected`.
template <typename Fn>
void expect_write_error(Fn fn, const std::string& path, const std::string& expected) {
  try {
    fn();
    FAIL() << "the write succeeded";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find(expected), std::string::npos) << "expected '" << expected << "' in: " << what;
  }
}

const std::vector<uint8_t> kOldContent = {'o', 'l', 'd'};

TEST(SafetensorsWriter, MissingDirectoryFailsCleanly) {
  test::TempDir dir;
  const std::string path = dir.file("no/such/dir/x.safetensors");
  expect_write_error([&] { write_safetensors(path, {{"a", Tensor::zeros(Shape{1}, DType::F32)}}); }, path,
                     "cannot create the temporary file");
  EXPECT_TRUE(entries_of(dir.path()).empty());
}

TEST(SafetensorsWriter, FailedWriteLeavesExistingFileAndNoTemporary) {
  test::TempDir dir;
  const std::string path = dir.file("x.safetensors");
  test::write_file(path, kOldContent);
  // A file size limit makes the data write itself fail part-way (EFBIG), after the
  // temporary file has been created and partly written.
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const Tensor big = Tensor::zeros(Shape{64, 1024}, DType::F32);
  try {
    write_safetensors(path, {{"big", big}});
    ADD_FAILURE() << "a write over the file size limit succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("File too large"), std::string::npos) << e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(test::read_file(path), kOldContent);
  EXPECT_EQ(entries_of(dir.path()), std::vector<std::string>{"x.safetensors"});
}

TEST(SafetensorsWriter, TargetThatIsADirectoryFailsCleanly) {
  test::TempDir dir;
  const std::string path = dir.file("d.safetensors");
  fs::create_directory(path);
  fs::create_directory(dir.file("d.safetensors/inner"));  // rename() cannot replace a non-empty folder
  expect_write_error([&] { write_safetensors(path, {}); }, path, "cannot rename");
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_EQ(entries_of(dir.path()), std::vector<std::string>{"d.safetensors"});
}

TEST(SafetensorsWriter, SuccessfulWriteReplacesTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("x.safetensors");
  test::write_file(path, kOldContent);
  write_safetensors(path, {{"a", Tensor::from_vector(Shape{1}, {5})}});
  EXPECT_EQ(SafetensorsFile::open(path).info("a").nbytes(), 4u);
  EXPECT_EQ(entries_of(dir.path()), std::vector<std::string>{"x.safetensors"});
}

TEST(SafetensorsWriter, RefusesBadNamesAndLeavesTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("x.safetensors");
  test::write_file(path, kOldContent);
  const Tensor t = Tensor::zeros(Shape{1}, DType::U8);
  expect_write_error([&] { write_safetensors(path, {{"a", t}, {"a", t}}); }, path, "duplicate tensor name 'a'");
  expect_write_error([&] { write_safetensors(path, {{"", t}}); }, path, "empty name");
  expect_write_error([&] { write_safetensors(path, {{"__metadata__", t}}); }, path, "__metadata__");
  expect_write_error([&] { write_safetensors(path, {{"\xff", t}}); }, path, "not valid UTF-8");
  expect_write_error([&] { write_safetensors(path, {}, {{"k", "\xc3"}}); }, path, "not valid UTF-8");
  expect_write_error([&] { write_safetensors(path, {{"u", Tensor()}}); }, path, "undefined");
  EXPECT_EQ(test::read_file(path), kOldContent);
  EXPECT_EQ(entries_of(dir.path()), std::vector<std::string>{"x.safetensors"});
}

TEST(SafetensorsWriter, ViewsWriteOnlyTheirOwnBytes) {
  // A narrowed view shares storage with its parent; only its rows go to the file.
  test::TempDir dir;
  const std::string path = dir.file("v.safetensors");
  const Tensor parent = Tensor::from_vector(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  write_safetensors(path, {{"mid", parent.narrow(1, 1)}});
  const Tensor back = SafetensorsFile::open(path).get("mid");
  EXPECT_EQ(back.shape(), (Shape{1, 2}));
  EXPECT_EQ(back.data<float>()[0], 3.0f);
  EXPECT_EQ(back.data<float>()[1], 4.0f);
}

TEST(SafetensorsWriter, MappedTensorsCanBeWrittenAgain) {
  // Tensors from a mapped (read-only) file are valid writer input: copying a file.
  test::TempDir dir;
  write_safetensors(dir.file("a.safetensors"), {{"w", Tensor::from_vector(Shape{2}, {7, 8})}}, {{"k", "v"}});
  const auto src = SafetensorsFile::open(dir.file("a.safetensors"));
  write_safetensors(dir.file("b.safetensors"), {{"w", src.get("w")}}, src.metadata());
  EXPECT_EQ(test::read_file(dir.file("a.safetensors")), test::read_file(dir.file("b.safetensors")));
}

}  // namespace
}  // namespace hl
