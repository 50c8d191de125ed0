"""Disk usage per file system (total, used, free) as a table, for the given or default paths."""

import os
import shutil
import tempfile

from scriptdeck.sdk import ScriptBase, create_simple_script

GIB = 1024**3
COLUMNS = ["mount", "path", "total_gib", "used_gib", "free_gib", "used_percent"]

PARAMETERS = {
    "paths": {
        "type": "array",
        "items": {"type": "string"},
        "title": "Paths",
        "description": "Paths to measure; empty: /, the working folder, the temporary "
        "folder and the home folder.",
        "examples": [["/", "/var"]],
    },
}


def mount_point(path):
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def requested_paths(script):
    paths = script.get_parameter("paths")
    if not paths:
        return ["/", os.getcwd(), tempfile.gettempdir(), os.path.expanduser("~")]
    if isinstance(paths, str):
        return [part.strip() for part in paths.split(",") if part.strip()]
    return [str(part) for part in paths]


def main_logic(script: ScriptBase):
    rows = []
    seen_mounts = set()
    for path in requested_paths(script):
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such path: {path}")
        mount = mount_point(path)
        if mount in seen_mounts:
            continue
        seen_mounts.add(mount)
        usage = shutil.disk_usage(path)
        rows.append(
            {
                "mount": mount,
                "path": path,
                "total_gib": round(usage.total / GIB, 2),
                "used_gib": round(usage.used / GIB, 2),
                "free_gib": round(usage.free / GIB, 2),
                "used_percent": round(100.0 * usage.used / usage.total, 1) if usage.total else 0.0,
            }
        )
    return script.success_result(
        f"{len(rows)} file system(s) measured",
        {
            "columns": COLUMNS,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    create_simple_script("disk_usage_table", main_logic)
