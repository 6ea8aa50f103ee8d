"""Plain-text renderings shared by the CLI and the tables: markdown and CSV from rows of strings."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

__all__ = ["iteration", "markdown", "csv_text"]


def iteration(value: int | None) -> str:
    """A separating iteration as a table cell: the number, or ✗ for never."""
    return "✗" if value is None else str(value)


def markdown(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table with padded columns."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells[1:])])


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """CSV with a header row and Unix line endings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
