"""What several command groups share: the table output formats and the writer."""

from __future__ import annotations

import sys

import pandas as pd

FORMATS = ("table", "csv", "json")


def write_table(df: pd.DataFrame, fmt: str) -> None:
    """Write ``df`` to stdout as an aligned table, CSV, or JSON records (one array)."""
    if fmt == "csv":
        df.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        sys.stdout.write(df.to_json(orient="records") + "\n")
    else:
        with pd.option_context(
            "display.max_rows", None, "display.max_columns", None, "display.width", 250
        ):
            sys.stdout.write(df.to_string(index=False) + "\n")
