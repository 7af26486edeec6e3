# cmake -P script behind Package.EmbedExampleBuildsAndRuns (see CMakeLists.txt): install
# this build into a scratch prefix, build examples/embed against it with find_package(hl)
# and hl::hl alone, and run it on a generated video with a small model: it scores the
# video as a file and as a stream and must print "embed: ok".
file(REMOVE_RECURSE ${WORK_DIR})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step(${CMAKE_COMMAND} --install ${HL_BUILD_DIR} --prefix ${WORK_DIR}/prefix)
step(${CMAKE_COMMAND} -S ${EXAMPLE_SOURCE} -B ${WORK_DIR}/build -G ${GENERATOR}
     -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
# 12 s of 29.97-fps video with 16-kHz noise: two complete segments.
step(${FFMPEG} -hide_banner -loglevel error -nostdin -y
     -f lavfi -i testsrc=size=64x48:rate=30000/1001:duration=12
     -f lavfi -i anoisesrc=color=pink:sample_rate=16000:amplitude=0.3:duration=12:seed=7
     -c:v libx264 -pix_fmt yuv420p -c:a pcm_s16le -ac 1 ${WORK_DIR}/clip.mkv)
step(${MAKE_MODEL} ${WORK_DIR}/model.safetensors)
step(${WORK_DIR}/build/embed_example ${WORK_DIR}/model.safetensors ${WORK_DIR}/clip.mkv)
if(NOT step_output MATCHES "embed: ok" OR NOT step_output MATCHES "score_file: 2 segments")
  message(FATAL_ERROR "the example did not report success:\n${step_output}")
endif()
message(STATUS "${step_output}")
