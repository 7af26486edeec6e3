#!/usr/bin/env python3
"""The report of tools/gpu-check.sh, and two small checks it and CI use. Standard
library only: it runs on the GPU machine's python and on Debian's.

  gpu_check_report.py report --work DIR --out DIR --mode device|dry-run
      Reads DIR/steps.tsv, DIR/facts.txt, the JUnit XML, sanitizer logs and benchmark
      JSON under DIR/logs; writes OUT/gpu-report.md and OUT/summary.json; prints the
      short table (the last thing gpu-check.sh prints). Exit 0 when it wrote them.
  gpu_check_report.py compare-predictions CPU.csv CUDA.csv TOLERANCE
      hl-train's held-out predictions (video,segment,score) on the two devices: the
      relative difference max|a-b| / max|b| (the project's rule) against TOLERANCE.
  gpu_check_report.py verify-out DIR
      What a device call returns from $OUT: at most 8 files, each at most 16 MiB, at
      most two folders down, names of letters, digits, '.', '_' and '-'; the summary and
      the report present and readable. Exit 1 naming every breach.
"""
import argparse
import csv
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

NO_DEVICE = "no CUDA device"
# Skips that are expected on a one-GPU machine, each with its documented reason.
DOCUMENTED_SKIPS = {
    "needs two CUDA devices": "two-device copies need a second GPU (tests/cuda/test_cuda_tensor.cpp)",
    "a CUDA device is visible": "checks the message without a device (tests/cuda/test_cuda_cnn.cpp)",
}
BAD_STEP = {"failed", "timed-out", "skipped", "not-available"}


def read_tsv(path, fields):
    rows = []
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                parts += [""] * (len(fields) - len(parts))
                rows.append(dict(zip(fields, parts)))
    return rows


def junit_results(logs):
    """program -> {passed, failed: [(test, message)], skipped: [(test, reason)], xml}"""
    out = {}
    for rc_file in sorted(glob.glob(os.path.join(logs, "tests", "*.rc"))):
        name = os.path.basename(rc_file)[:-3]
        entry = {"exit": open(rc_file).read().strip(), "passed": 0, "failed": [], "skipped": [], "xml": False}
        xml_path = os.path.join(logs, "junit", name + ".xml")
        if os.path.exists(xml_path):
            try:
                root = ET.parse(xml_path).getroot()
                entry["xml"] = True
                for case in root.iter("testcase"):
                    test = "%s.%s" % (case.get("classname"), case.get("name"))
                    failure = case.find("failure")
                    skipped = case.find("skipped")
                    if failure is not None:
                        entry["failed"].append((test, (failure.get("message") or "").strip()))
                    elif skipped is not None or case.get("result") == "skipped":
                        message = (skipped.get("message") if skipped is not None else "") or ""
                        entry["skipped"].append((test, message.strip().splitlines()[-1] if message.strip() else ""))
                    elif case.get("status", "run") == "run":
                        entry["passed"] += 1
            except ET.ParseError as e:
                entry["xml_error"] = str(e)
        out[name] = entry
    return out


def classify_skip(reason):
    if NO_DEVICE in reason:
        return "no-device"
    for key, doc in DOCUMENTED_SKIPS.items():
        if key in reason:
            return "documented: " + doc
    return "undocumented: " + reason


def sanitizer_results(logs):
    out = {}
    for tool in ("memcheck", "racecheck"):
        for rc_file in sorted(glob.glob(os.path.join(logs, "sanitizer", tool, "*.rc"))):
            name = os.path.basename(rc_file)[:-3]
            log = rc_file[:-3] + ".log"
            text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
            summaries = re.findall(r"ERROR SUMMARY: (\d+) error", text)
            hazards = re.findall(r"RACECHECK SUMMARY: (\d+) hazard", text)
            out.setdefault(tool, {})[name] = {
                "exit": open(rc_file).read().strip(),
                "errors": sum(int(x) for x in summaries) if summaries else None,
                "hazards": sum(int(x) for x in hazards) if hazards else None,
            }
    return out


def bench_times(path):
    data = json.load(open(path))
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    times, errors = {}, []
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            errors.append("%s: %s" % (b.get("name"), b.get("error_message", "")))
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        times[b.get("run_name", b["name"])] = b["real_time"] * unit[b.get("time_unit", "ns")]
    return times, data.get("context", {}), errors


def fmt_time(seconds):
    if seconds < 1e-2:
        return "%.1f us" % (seconds * 1e6)
    return "%.1f ms" % (seconds * 1e3) if seconds < 10 else "%.1f s" % seconds


def bench_section(logs, ours_name, peer_names, title, mode):
    ours_path = os.path.join(logs, "bench", ours_name)
    if not os.path.exists(ours_path):
        return [], [], {}
    try:
        ours, _, errors = bench_times(ours_path)
        if mode == "dry-run":  # without a device every benchmark says so: expected
            errors = [e for e in errors if NO_DEVICE not in e]
    except (ValueError, KeyError) as e:
        return ["", "## " + title, "", "%s is not readable: %s" % (ours_name, e)], ["%s unreadable" % ours_name], {}
    lines, ratios = ["", "## " + title + " (ratio > 1: hl faster than the peer)", ""], {}
    peers = []
    for p in peer_names:
        path = os.path.join(logs, "bench", p)
        if os.path.exists(path):
            try:
                peers.append(bench_times(path)[:2])
            except (ValueError, KeyError):
                pass
    header = "| benchmark | hl |" + "".join(" %s | ratio |" % ctx.get("peer", "peer") for _, ctx in peers)
    lines += [header, "|---|---|" + "---|---|" * len(peers)]
    for name, t in ours.items():
        row = "| %s | %s |" % (name, fmt_time(t))
        for times, ctx in peers:
            # The torch.compile peer names its rows *_f16_compiled/<batch>.
            peer_t = times.get(name) or times.get(name.replace("_f16/", "_f16_compiled/"))
            if peer_t is None:
                row += " | |"
            else:
                row += " %s | %.2f |" % (fmt_time(peer_t), peer_t / t)
                ratios.setdefault(name, {})[ctx.get("peer", "peer")] = round(peer_t / t, 3)
        lines.append(row)
    if errors:
        lines += ["", "Benchmarks that reported errors:"] + ["- " + e for e in errors[:20]]
    return lines, ["%s: %d benchmarks reported errors" % (ours_name, len(errors))] if errors else [], ratios


def report(args):
    work, out, mode = args.work, args.out, args.mode
    logs = os.path.join(work, "logs")
    steps = read_tsv(os.path.join(work, "steps.tsv"), ["step", "status", "seconds", "note"])
    facts = read_tsv(os.path.join(work, "facts.txt"), ["key", "value"])
    tests = junit_results(logs)
    sanit = sanitizer_results(logs)
    problems = []

    # Steps: in a dry run "no CUDA device" is the expected outcome, and a missing
    # sanitizer is expected; on the GPU machine both mean the check did not happen.
    for s in steps:
        st = s["status"]
        if st in BAD_STEP and not (mode == "dry-run" and st == "not-available"):
            problems.append("%s: %s %s" % (s["step"], st, s["note"]))
        if st == "no-device" and mode == "device":
            problems.append("%s: no CUDA device was usable" % s["step"])

    # hl loads cuBLAS, cuDNN and cuFFT on first use (kernels/cuda/lazy_libraries.cpp), so
    # ldd cannot see them missing: the probe's search is what says so.
    if mode == "device":
        for f in facts:
            if f["key"].startswith("lib ") and "NOT FOUND" in f["value"]:
                problems.append("%s was not found on this machine" % f["key"][4:])

    # Tests: failures, skips by reason, programs that left no JUnit XML (crashed).
    counts = {"passed": 0, "failed": 0, "skipped_no_device": 0, "skipped_documented": 0, "skipped_other": 0}
    skip_reasons = {}
    for name, e in tests.items():
        counts["passed"] += e["passed"]
        counts["failed"] += len(e["failed"])
        for test, reason in e["skipped"]:
            kind = classify_skip(reason)
            if kind == "no-device":
                counts["skipped_no_device"] += 1
            elif kind.startswith("documented"):
                counts["skipped_documented"] += 1
                skip_reasons.setdefault(kind, []).append(test)
            else:
                counts["skipped_other"] += 1
                skip_reasons.setdefault(kind, []).append(test)
        if not e["xml"] and e["exit"] not in ("0",):
            problems.append("%s: exit %s and no JUnit XML (crashed or did not start; see logs/tests/%s.log)"
                            % (name, e["exit"], name))
        for test, message in e["failed"]:
            problems.append("%s: %s failed" % (name, test))
    if counts["skipped_no_device"] and mode == "device":
        problems.append("%d gpu tests skipped with 'no CUDA device': no device was usable" % counts["skipped_no_device"])
    if counts["skipped_other"]:
        problems.append("%d tests skipped for an undocumented reason" % counts["skipped_other"])

    for tool, progs in sanit.items():
        for name, r in progs.items():
            if (r["errors"] or 0) > 0 or (r["hazards"] or 0) > 0 or r["exit"] == "99":
                problems.append("%s %s: %s errors, %s hazards (logs/sanitizer/%s/%s.log)"
                                % (tool, name, r["errors"], r["hazards"], tool, name))

    lines = ["# GPU check report (%s)" % mode, ""]
    for f in facts:
        lines.append("- %s: %s" % (f["key"], f["value"]))
    lines += ["", "| step | status | seconds | note |", "|---|---|---|---|"]
    for s in steps:
        lines.append("| %s | %s | %s | %s |" % (s["step"], s["status"], s["seconds"], s["note"].replace("|", "/")))
    lines += ["", "## gpu tests", "",
              "%(passed)d passed, %(failed)d failed, %(skipped_no_device)d skipped (no CUDA device), "
              "%(skipped_documented)d skipped (documented), %(skipped_other)d skipped (other)" % counts, "",
              "| program | exit | passed | failed | skipped |", "|---|---|---|---|---|"]
    for name, e in tests.items():
        lines.append("| %s | %s | %d | %d | %d |" % (name, e["exit"], e["passed"], len(e["failed"]), len(e["skipped"])))
    for name, e in tests.items():
        for test, message in e["failed"][:10]:
            lines += ["", "**%s %s**" % (name, test), "", "```", message[:1500], "```"]
    for kind, names in skip_reasons.items():
        lines += ["", "Skipped, %s: %s" % (kind, ", ".join(names[:20]))]
    for tool, progs in sanit.items():
        lines += ["", "## compute-sanitizer %s" % tool, "", "| program | exit | errors | hazards |", "|---|---|---|---|"]
        for name, r in progs.items():
            lines.append("| %s | %s | %s | %s |" % (name, r["exit"], r["errors"], r["hazards"]))
    ratios = {}
    for ours, peers, title in (("bench-cuda.json", ["torch-cuda.json"], "CUDA kernels"),
                               ("bench-cnn.json", ["torch-cnn.json", "torch-cnn-compiled.json"], "feature CNNs")):
        section, errs, r = bench_section(logs, ours, peers, title, mode)
        lines += section
        problems += errs
        ratios.update(r)
    result = "PASS" if not problems else "FAIL"
    lines += ["", "## result: %s" % result]
    if problems:
        lines += [""] + ["- " + p for p in problems]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "gpu-report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    summary = {
        "result": result, "mode": mode, "problems": problems,
        "facts": {f["key"]: f["value"] for f in facts},
        "steps": [{"step": s["step"], "status": s["status"], "seconds": int(s["seconds"] or 0), "note": s["note"]}
                  for s in steps],
        "tests": counts,
        "programs": {n: {"exit": e["exit"], "passed": e["passed"], "failed": [t for t, _ in e["failed"]],
                         "skipped": len(e["skipped"])} for n, e in tests.items()},
        "sanitizer": sanit,
        "benchmark_ratios": ratios,  # benchmark -> {peer: peer time / hl time}
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    # The short table, printed last by gpu-check.sh.
    print("")
    print("%-16s %-16s %5s" % ("step", "status", "s"))
    for s in steps:
        print("%-16s %-16s %5s" % (s["step"], s["status"], s["seconds"]))
    print("tests: %(passed)d passed, %(failed)d failed, %(skipped_no_device)d no-device skips" % counts)
    print("result: %s%s" % (result, "" if not problems else " (%d problems; first: %s)" % (len(problems), problems[0])))
    return 0


def read_predictions(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {(r["video"], r["segment"]): float(r["score"]) for r in rows}


def compare_predictions(args):
    a, b = read_predictions(args.cpu), read_predictions(args.cuda)
    if set(a) != set(b):
        print("the two runs predicted different segments (%d vs %d)" % (len(a), len(b)))
        return 1
    if not a:
        print("no predictions")
        return 1
    diff = max(abs(a[k] - b[k]) for k in a)
    scale = max(abs(v) for v in a.values())
    rel = diff / scale if scale > 0 else diff
    ok = rel <= args.tolerance and rel == rel
    print("max relative difference %.3g over %d predictions (tolerance %g)" % (rel, len(a), args.tolerance))
    return 0 if ok else 1


def verify_out(args):
    problems, files = [], []
    for dirpath, dirnames, filenames in os.walk(args.dir):
        depth = os.path.relpath(dirpath, args.dir).count(os.sep) + (0 if dirpath == args.dir else 1)
        for name in filenames + dirnames:
            if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
                problems.append("name not allowed: %s" % os.path.join(dirpath, name))
        for name in filenames:
            path = os.path.join(dirpath, name)
            files.append(path)
            if depth > 2:
                problems.append("more than two folders down: %s" % path)
            if os.path.getsize(path) > 16 * 1024 * 1024:
                problems.append("over 16 MiB: %s (%d bytes)" % (path, os.path.getsize(path)))
    if len(files) > 8:
        problems.append("%d files (at most 8 come back)" % len(files))
    for needed in ("gpu-report.md", "summary.json", "logs.tar.gz"):
        if not os.path.exists(os.path.join(args.dir, needed)):
            problems.append("missing %s" % needed)
    try:
        summary = json.load(open(os.path.join(args.dir, "summary.json")))
        for key in ("result", "mode", "steps", "tests", "facts"):
            if key not in summary:
                problems.append("summary.json has no '%s'" % key)
    except (OSError, ValueError) as e:
        problems.append("summary.json unreadable: %s" % e)
    for p in problems:
        print("verify-out: " + p)
    if not problems:
        print("verify-out: %d files, all within the limits" % len(files))
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report")
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--mode", choices=["device", "dry-run"], required=True)
    c = sub.add_parser("compare-predictions")
    c.add_argument("cpu")
    c.add_argument("cuda")
    c.add_argument("tolerance", type=float)
    v = sub.add_parser("verify-out")
    v.add_argument("dir")
    args = ap.parse_args()
    return {"report": report, "compare-predictions": compare_predictions, "verify-out": verify_out}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
