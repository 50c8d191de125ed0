"""Files per extension under a folder, as a CSV report kept with the run's artifacts."""

import csv
import os
from pathlib import Path

from scriptdeck.sdk import ScriptBase, create_simple_script

PARAMETERS = {
    "folder": {
        "type": "string",
        "title": "Folder",
        "description": "Folder to survey, recursively; empty: the scripts folder.",
        "default": "",
    },
    "top": {
        "type": "integer",
        "minimum": 1,
        "maximum": 500,
        "default": 20,
        "description": "How many extensions the report lists, largest first.",
    },
    "file_name": {
        "type": "string",
        "pattern": "^[A-Za-z0-9_.-]+\\.csv$",
        "default": "extensions.csv",
        "description": "Name of the CSV file written.",
    },
}

COLUMNS = ["extension", "files", "bytes"]


def survey(folder: Path) -> dict[str, list[int]]:
    totals: dict[str, list[int]] = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(root, name)
            if path.is_symlink():
                continue
            entry = totals.setdefault(path.suffix.lower() or "(none)", [0, 0])
            entry[0] += 1
            entry[1] += path.stat().st_size
    return totals


def main_logic(script: ScriptBase):
    folder = Path(script.get_parameter("folder") or ".").expanduser()
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {folder}")
    top = int(script.get_parameter("top", 20))
    totals = survey(folder)
    rows = [
        {"extension": ext, "files": files, "bytes": size}
        for ext, (files, size) in sorted(totals.items(), key=lambda item: (-item[1][1], item[0]))
    ][:top]
    # Files written into SCRIPT_OUTPUT_DIR are kept with the run; elsewhere (a run by hand)
    # the report lands in the working folder.
    output_dir = Path(os.environ.get("SCRIPT_OUTPUT_DIR") or ".")
    report = output_dir / script.get_parameter("file_name", "extensions.csv")
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {report.name}: {len(rows)} row(s)")
    return script.success_result(
        f"{sum(files for files, _ in totals.values())} file(s) in {len(totals)} extension(s)",
        {"columns": COLUMNS, "rows": rows, "report": report.name},
    )


if __name__ == "__main__":
    create_simple_script("csv_report", main_logic)
