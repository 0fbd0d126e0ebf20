"""Turns the lines of run.sh into a markdown table of medians (and Loom's ratio to each peer).

Input lines: `FRAMEWORK MODEL THREADS TRAIN_SAMPLES_S PREDICT_SAMPLES_S GFLOPS`, and
`sgemm THREADS GFLOPS` from Loom's runner (the machine's sgemm peak at that thread count).
"""
import statistics
import sys
from collections import defaultdict

runs = defaultdict(list)
sgemm = defaultdict(list)
for line in open(sys.argv[1]):
    fields = line.split()
    if fields[:1] == ["sgemm"]:  # sgemm THREADS GFLOPS [OPENBLAS_CORE]
        sgemm[int(fields[1])].append(float(fields[2]))
    elif len(fields) == 6:
        framework, model, threads = fields[0], fields[1], int(fields[2])
        runs[(model, threads, framework)].append(tuple(map(float, fields[3:])))


def median(values, index):
    return statistics.median(v[index] for v in values)


print("| model | threads | framework | train samples/s | predict samples/s | GFLOP/s | % of sgemm | Loom train ratio | rounds |")
print("|---|---|---|---|---|---|---|---|---|")
for model, threads in sorted({(m, t) for m, t, _ in runs}):
    loom = runs.get((model, threads, "loom"))
    peak = statistics.median(sgemm[threads]) if sgemm[threads] else None
    for framework in ("loom", "keras", "torch"):
        values = runs.get((model, threads, framework))
        if not values:
            continue
        train, predict, gflops = (median(values, i) for i in range(3))
        ratio = f"{median(loom, 0) / train:.2f}x" if loom and framework != "loom" else ""
        share = f"{100 * gflops / peak:.0f}%" if peak else ""
        print(f"| {model} | {threads} | {framework} | {train:,.0f} | {predict:,.0f} | {gflops:.1f} | {share} | {ratio} | {len(values)} |")
if sgemm:
    print()
    for threads, values in sorted(sgemm.items()):
        print(f"sgemm peak, {threads} thread(s): {statistics.median(values):.1f} GFLOP/s (median of {len(values)})")
