"""Turns the lines of run.sh into markdown tables of medians over the rounds.

    python table.py RESULTS

Input lines: `FRAMEWORK MODEL THREADS TRAIN_SAMPLES_S PREDICT_SAMPLES_S GFLOPS` (FRAMEWORK loom,
keras or torch), `sgemm THREADS GFLOPS [CORE]` from Loom's runner (OpenBLAS's sgemm
peak at that thread count, with the kernels CORE it runs: not always the CPU's own best) and
`fma THREADS GFLOPS [LEVEL]` (the FMA peak of that many threads at once, `FMAPeak`, each
model's training and prediction GFLOP/s a percentage of it); other lines are skipped. Prints one row per model, thread count
and framework (with Loom's ratio to that framework at the same thread count), then per model
the train and the predict samples/s at each thread count, the best peer (the faster of Keras
and PyTorch over all thread counts) and Loom's ratio to it at the most threads measured.
"""
import statistics
import sys
from collections import defaultdict

try:
    from models import MODELS  # the B-ids and the tables' order
except ImportError:  # numpy missing: no B-ids, models in name order
    MODELS = {}

NAMES = {"loom": "Loom", "keras": "Keras", "torch": "PyTorch"}
PEERS = ("keras", "torch")

runs = defaultdict(list)
sgemm = defaultdict(list)
fma = defaultdict(list)
for line in open(sys.argv[1]):
    fields = line.split()
    if fields[:1] == ["sgemm"] and len(fields) >= 3:  # sgemm THREADS GFLOPS [OPENBLAS_CORE]
        sgemm[int(fields[1])].append(float(fields[2]))
    elif fields[:1] == ["fma"] and len(fields) >= 3:  # fma THREADS GFLOPS [KERNEL_LEVEL]
        fma[int(fields[1])].append(float(fields[2]))
    elif len(fields) == 6 and fields[0] in NAMES:
        framework, model, threads = fields[0], fields[1], int(fields[2])
        runs[(model, threads, framework)].append(tuple(map(float, fields[3:])))

order = list(MODELS)
models = sorted({m for m, _, _ in runs}, key=lambda m: (order.index(m) if m in order else len(order), m))
thread_counts = sorted({t for _, t, _ in runs})


def bid(model):
    return MODELS.get(model, {}).get("id", "")


def median(model, threads, framework, index):
    """The median of one column (0 train, 1 predict, 2 GFLOP/s) over the rounds, or None."""
    values = runs.get((model, threads, framework))
    return statistics.median(v[index] for v in values) if values else None


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "–"


def rate(value):
    return f"{value:,.0f}" if value is not None else "–"


print("| id | model | threads | framework | train samples/s | predict samples/s | GFLOP/s | % of sgemm "
      "| train % of FMA peak | predict % of FMA peak | Loom train ratio | Loom predict ratio | rounds |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for model in models:
    for threads in thread_counts:
        peak = statistics.median(sgemm[threads]) if sgemm.get(threads) else None
        fma_peak = statistics.median(fma[threads]) if fma.get(threads) else None
        for framework in NAMES:
            if (model, threads, framework) not in runs:
                continue
            train, predict, gflops = (median(model, threads, framework, i) for i in range(3))
            train_ratio = predict_ratio = ""
            if framework != "loom":
                train_ratio = ratio(median(model, threads, "loom", 0), train)
                predict_ratio = ratio(median(model, threads, "loom", 1), predict)
            share = f"{100 * gflops / peak:.0f}%" if peak else ""
            # Prediction's GFLOP/s: one forward pass a sample, training's count being three.
            predict_gflops = gflops * predict / (3 * train) if train else 0
            train_fma = f"{100 * gflops / fma_peak:.0f}%" if fma_peak else ""
            predict_fma = f"{100 * predict_gflops / fma_peak:.0f}%" if fma_peak else ""
            print(f"| {bid(model)} | {model} | {threads} | {NAMES[framework]} | {train:,.0f} | {predict:,.0f} "
                  f"| {gflops:.1f} | {share} | {train_fma} | {predict_fma} | {train_ratio} | {predict_ratio} "
                  f"| {len(runs[(model, threads, framework)])} |")
print()
print("GFLOP/s counts training: 3 × forward FLOPs per sample × train samples/s / 10⁹, the forward")
print("being 2·T·4U·(F + U) per LSTM layer and direction (T steps, U units, F input features) plus")
print("2·outH·outW·9·C·8 per frame for B6's convolution; Dense heads, RepeatVector and pooling are")
print("left out. Ratios are Loom's samples/s over the framework's at the same thread count (above")
print("1x: Loom is faster). Every figure is the median over the rounds.")
if sgemm or fma:
    print()
    for threads, values in sorted(sgemm.items()):
        print(f"sgemm peak, {threads} thread(s): {statistics.median(values):.1f} GFLOP/s (median of {len(values)})")
    for threads, values in sorted(fma.items()):
        print(f"FMA peak, {threads} thread(s) at once: {statistics.median(values):.1f} GFLOP/s "
              f"(median of {len(values)}; Loom's kernels' 12-chain loop in the widest registers)")

top = max(thread_counts, default=None)
for index, what in ((0, "train"), (1, "predict")) if runs else ():
    columns = [(framework, threads) for framework in NAMES for threads in thread_counts]
    print()
    print(f"{what.capitalize()} samples/s; best peer = the faster of Keras and PyTorch over "
          f"{', '.join(map(str, thread_counts))} thread(s).")
    print()
    print("| id | model | " + " | ".join(f"{NAMES[f]} {t}t" for f, t in columns)
          + f" | best peer | Loom {top}t / best peer |")
    print("|---|---|" + "---|" * len(columns) + "---|---|")
    for model in models:
        cells = [rate(median(model, t, f, index)) for f, t in columns]
        peers = [(median(model, t, f, index), f, t) for f in PEERS for t in thread_counts]
        peers = [p for p in peers if p[0] is not None]
        best = max(peers, default=None)
        best_cell = f"{NAMES[best[1]]} {best[2]}t: {best[0]:,.0f}" if best else "–"
        loom = median(model, top, "loom", index)
        print(f"| {bid(model)} | {model} | " + " | ".join(cells)
              + f" | {best_cell} | {ratio(loom, best[0] if best else None)} |")
