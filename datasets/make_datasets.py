"""Writes the bundled time series as CSV from the copies statsmodels ships, then imports them
with Loom's own importer. Run from the repository root (outside CI):

    python3 -m venv /tmp/ds-venv && /tmp/ds-venv/bin/pip install statsmodels
    /tmp/ds-venv/bin/python datasets/make_datasets.py
    swift build -c release --product loom
    .build/release/loom import csv datasets/co2_monthly.csv --window 24 --columns co2 \\
        --scaling minmax --out datasets/co2.h5
    .build/release/loom import csv datasets/sunspots_yearly.csv --window 20 --columns sunactivity \\
        --scaling minmax --out datasets/sunspots.h5

See datasets/README.md for provenance and licences.
"""
import os

import statsmodels.api as sm

HERE = os.path.dirname(os.path.abspath(__file__))

# Mauna Loa CO2, weekly flask samples 1958-2001: monthly means; the few months without any
# sample are filled by linear interpolation in time.
co2 = sm.datasets.co2.load_pandas().data["co2"]
monthly = co2.resample("MS").mean().interpolate(method="time")
with open(os.path.join(HERE, "co2_monthly.csv"), "w") as f:
    f.write("month,co2\n")
    for stamp, value in monthly.items():
        f.write(f"{stamp:%Y-%m},{value:.4f}\n")

# Yearly mean sunspot numbers, 1700-2008.
sunspots = sm.datasets.sunspots.load_pandas().data
with open(os.path.join(HERE, "sunspots_yearly.csv"), "w") as f:
    f.write("year,sunactivity\n")
    for year, value in zip(sunspots["YEAR"], sunspots["SUNACTIVITY"]):
        f.write(f"{int(year)},{value:.1f}\n")
print("wrote co2_monthly.csv:", len(monthly), "months; sunspots_yearly.csv:", len(sunspots), "years")
