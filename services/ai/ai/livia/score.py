"""Score Lívia's extraction on a corpus: `python -m ai.livia.score [FILE.jsonl ...]`.

Each line: {"text": ..., "awaited": field Lívia had asked for or null, "expected": {field:
value}}, and optionally "asked": {field: value} for what the message only asks about ("e
se fosse em 48x?": a question, not the lead's choice). A field counts where it is expected
or extracted: right when both agree (money to the cent, names and cities ignoring case and
accents), wrong otherwise, so a value found where none was said is a miss too. Prints the
accuracy per field and overall, and the misses with --misses.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai.livia.extraction import FIELDS, plain
from ai.livia.what_if import read

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "tests" / "corpus"
TARGET = 0.97


@dataclass
class Score:
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    counted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    misses: list[str] = field(default_factory=list)
    messages: int = 0

    def field_accuracy(self, name: str) -> float:
        return self.right[name] / self.counted[name] if self.counted[name] else 1.0

    def compare(
        self, row: dict[str, Any], expected: dict[str, Any], got: dict[str, Any], label: str
    ) -> None:
        for name in FIELDS:
            if expected.get(name) is None and got.get(name) is None:
                continue
            self.counted[name] += 1
            if same(expected.get(name), got.get(name)):
                self.right[name] += 1
            else:
                self.misses.append(
                    f"{row.get('where', '?')} {label}{name}: expected {expected.get(name)!r}, "
                    f"got {got.get(name)!r} in {row['text']!r}"
                )

    @property
    def overall(self) -> float:
        counted = sum(self.counted.values())
        return sum(self.right.values()) / counted if counted else 1.0


def same(expected: Any, got: Any) -> bool:
    if expected is None or got is None:
        return expected is got
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return isinstance(got, int | float) and abs(float(got) - float(expected)) < 0.5
    return plain(str(expected)).strip() == plain(str(got)).strip()


def load(paths: list[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        for file in files:
            for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    row = json.loads(line)
                    row["where"] = f"{file.name}:{number}"
                    rows.append(row)
    return rows


def score(rows: list[dict[str, Any]]) -> Score:
    result = Score()
    for row in rows:
        result.messages += 1
        reading = read(row["text"], row.get("awaited"))
        result.compare(row, row.get("expected") or {}, reading.stated, "")
        if "asked" in row:
            result.compare(row, row["asked"] or {}, reading.asked, "asked ")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_CORPUS])
    parser.add_argument("--misses", action="store_true", help="list every wrong field")
    args = parser.parse_args(argv)
    result = score(load(args.paths))
    print(f"{result.messages} messages")
    for name in FIELDS:
        print(
            f"  {name:<15} {100 * result.field_accuracy(name):6.1f}%  "
            f"({result.right[name]}/{result.counted[name]})"
        )
    print(f"  {'overall':<15} {100 * result.overall:6.1f}%  (target {100 * TARGET:.0f}% per field)")
    if args.misses:
        for miss in result.misses:
            print(miss)
    return 0 if all(result.field_accuracy(name) >= TARGET for name in FIELDS) else 1


if __name__ == "__main__":
    sys.exit(main())
