"""Count the lines matching a pattern in log files: a click command, in its own environment."""

# /// script
# requires-python = ">=3.9"
# dependencies = ["click>=8"]
# ///

import json
import re
from pathlib import Path

import click


@click.command()
@click.argument("pattern")
@click.option(
    "--path",
    type=click.Path(exists=True, file_okay=False),
    default=".",
    help="Folder to search, recursively.",
)
@click.option(
    "--glob",
    "globs",
    multiple=True,
    default=["*.log"],
    help="File names to read; give it more than once for several.",
)
@click.option("--ignore-case/--match-case", default=False, help="Ignore upper and lower case.")
@click.option(
    "--max-files",
    type=click.IntRange(1, 1000),
    default=20,
    help="List at most this many files.",
)
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    help="How the counts are printed.",
)
def main(pattern, path, globs, ignore_case, max_files, output):
    """Count the lines matching PATTERN (a regular expression) in each file."""
    regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    counts = {}
    for glob in globs:
        for file in sorted(Path(path).rglob(glob)):
            if not file.is_file() or str(file) in counts:
                continue
            with file.open(encoding="utf-8", errors="replace") as handle:
                counts[str(file)] = sum(1 for line in handle if regex.search(line))
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:max_files]
    if output == "json":
        click.echo(json.dumps([{"file": name, "matches": n} for name, n in ranked]))
        return
    for name, n in ranked:
        click.echo(f"{n:8d}  {name}")
    click.echo(f"{sum(counts.values())} matching line(s) in {len(counts)} file(s)")


if __name__ == "__main__":
    main()
