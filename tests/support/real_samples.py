"""The real public datasets' samples the adapter and session tests read (tests/data/real, see its README).

A test that needs them fails, naming what is missing, rather than skipping.
"""

from __future__ import annotations

from pathlib import Path

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
REES46_CSV = REAL / "rees46_oct2019_head" / "2019-Oct.csv"
YOOCHOOSE_FILES = [
    REAL / "yoochoose_rsc15_100k" / "yoochoose-clicks-100k_train_full.txt",
    REAL / "yoochoose_rsc15_100k" / "yoochoose-clicks-100k_test.txt",
]
