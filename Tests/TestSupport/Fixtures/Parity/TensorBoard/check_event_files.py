"""Reads a `loom train --tensorboard DIR` folder with TensorBoard's own reader and prints what
TensorBoard shows: each run's scalar tags with their (step, value) pairs and each histogram
tag with its steps and counts. Outside CI (needs `pip install tensorboard`):

    loom train --epochs 3 --tensorboard logs --checkpoint-dir ck
    loom train --epochs 5 --tensorboard logs --checkpoint-dir ck --resume
    python Tests/TestSupport/Fixtures/Parity/TensorBoard/check_event_files.py logs --epochs 5

With --epochs N it checks that `epoch_loss` holds steps 0...N-1 once each in both runs (a
resumed run's two event files read as one curve, the killed run's extra events purged) and
that every histogram has a step an epoch; exits 1 otherwise.
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from tensorboard.backend.event_processing import event_accumulator as ea  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("logdir")
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    ok = True
    for run in ("train", "validation"):
        accumulator = ea.EventAccumulator(
            os.path.join(args.logdir, run), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0}, purge_orphaned_data=True)
        accumulator.Reload()
        tags = accumulator.Tags()
        for tag in sorted(tags["scalars"]):
            points = [(e.step, round(e.value, 6)) for e in accumulator.Scalars(tag)]
            print(f"{run} {tag}: {points}")
            if args.epochs and tag == "epoch_loss" and [p[0] for p in points] != list(range(args.epochs)):
                print(f"FAIL {run} {tag}: steps {[p[0] for p in points]}, expected 0...{args.epochs - 1}")
                ok = False
        for tag in sorted(tags["histograms"]):
            events = accumulator.Histograms(tag)
            print(f"{run} {tag}: steps {[e.step for e in events]}, counts {[int(e.histogram_value.num) for e in events]}")
            if args.epochs and [e.step for e in events] != list(range(args.epochs)):
                print(f"FAIL {run} {tag}: steps {[e.step for e in events]}")
                ok = False
    print("PASS" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
