"""Google Benchmark-style JSON for the PyTorch peers, rewritten after every row, so that a
peer stopped by a time limit (tools/gpu-check.sh gives each step one) keeps what it
measured. The file is replaced atomically (write beside it, then rename).

    rows = JsonRows(path, peer="torch 2.11 (NVIDIA H100)")
    rows.add("BM_cuda_add_f32/65536", seconds)   # written at once
"""
import json
import os
import sys

# The exit status of a peer that found no CUDA device: the status the test programs use
# for "skipped" (tests/support/test_main.cpp), which gpu-check.sh reports as "no device".
EXIT_NO_DEVICE = 77


def require_cuda(torch):
    if not torch.cuda.is_available():
        print("no CUDA device visible to torch %s: nothing to measure" % torch.__version__, file=sys.stderr)
        sys.exit(EXIT_NO_DEVICE)


class JsonRows:
    def __init__(self, path, peer):
        self.path = path
        self.peer = peer
        self.rows = []
        self._write()

    def add(self, name, seconds):
        # Google Benchmark names manual-time runs "<name>/manual_time"; use the same names.
        self.rows.append({"name": name + "/manual_time", "run_name": name + "/manual_time",
                          "real_time": seconds * 1e9, "time_unit": "ns"})
        self._write()

    def _write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"context": {"peer": self.peer}, "benchmarks": self.rows}, f, indent=1)
        os.replace(tmp, self.path)
