"""Text statistics: a script whose parameters come from its typed main()."""

from typing import Literal


def main(
    text: str,
    top: int = 5,
    unit: Literal["words", "characters"] = "words",
    ignore_case: bool = True,
) -> list[dict]:
    items = text.split() if unit == "words" else [c for c in text if not c.isspace()]
    counts: dict[str, int] = {}
    for item in items:
        key = item.lower() if ignore_case else item
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:top]
    return [{"item": item, "count": count} for item, count in ranked]
