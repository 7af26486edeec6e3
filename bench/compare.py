"""Prints a markdown table of our Google Benchmark results against a peer's, as ratios
(peer time / our time: above 1 means we are faster).

Usage: compare.py OURS.json PEER.json
"""
import json
import sys


def times(path):
    data = json.load(open(path))
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    out = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        out[name] = b["real_time"] * unit[b.get("time_unit", "ns")]
    return out, data.get("context", {})


def duration(seconds):
    """Microseconds up to 10 ms, then milliseconds, then seconds (a training epoch)."""
    if seconds < 1e-2:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


ours, _ = times(sys.argv[1])
peer, peer_ctx = times(sys.argv[2])
print(f"| benchmark | hl | {peer_ctx.get('peer', 'peer')} | ratio (peer/hl) |")
print("|---|---|---|---|")
for name in ours:
    if name in peer:
        print(f"| {name} | {duration(ours[name])} | {duration(peer[name])} | {peer[name] / ours[name]:.2f} |")
