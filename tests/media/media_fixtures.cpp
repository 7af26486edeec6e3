#include "media_fixtures.h"

namespace hl::test {

std::string ffmpeg_cli() { return HL_FFMPEG_CLI; }

std::string run_ffmpeg(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ffmpeg_cli(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = run_command(argv);
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  return r.out;
}

void make_media(const std::string& path, const std::vector<std::string>& inputs,
                const std::vector<std::string>& extra) {
  std::vector<std::string> args;
  for (const auto& in : inputs) {
    args.push_back("-f");
    args.push_back("lavfi");
    args.push_back("-i");
    args.push_back(in);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(path);
  run_ffmpeg(args);
}

DecodedVideo read_all(const std::string& path, const media::VideoOptions& options) {
  DecodedVideo v;
  media::VideoReader reader(path, options);
  media::VideoFrame f;
  while (reader.next(&f)) v.frames.push_back(f);
  return v;
}

}  // namespace hl::test
