"""The scripts the console's end-to-end test runs."""

REPORT = """\
import json
import os
import sys
import time

PARAMETERS = {
    "rows": {"type": "integer", "minimum": 1, "maximum": 50, "default": 3,
             "title": "Rows", "description": "How many rows the report has."},
    "label": {"type": "string", "pattern": "^[a-z]+$", "title": "Label", "required": True},
    "mode": {"type": "string", "enum": ["quick", "full"], "default": "quick"},
    "verbose": {"type": "boolean", "default": False},
}

params = json.loads(os.environ.get("SCRIPT_PARAMETERS") or "{}")
rows = int(params.get("rows", 3))
for i in range(rows):
    print(f"\\x1b[32mrow {i + 1}\\x1b[0m of {rows}: {params.get('label')}", flush=True)
    time.sleep(0.4)
print("a warning on stderr", file=sys.stderr, flush=True)
result = [{"n": i + 1, "label": params.get("label"), "square": (i + 1) ** 2} for i in range(rows)]
with open(os.environ["SCRIPT_RESULT_FILE"], "w", encoding="utf-8") as handle:
    json.dump(result, handle)
with open(os.path.join(os.environ["SCRIPT_OUTPUT_DIR"], "report.csv"), "w") as handle:
    handle.write("n,square\\n" + "".join(f"{r['n']},{r['square']}\\n" for r in result))
"""

LONG = """\
import time

PARAMETERS = {"seconds": {"type": "integer", "default": 120, "minimum": 1}}

for tick in range(10_000):
    print(f"tick {tick}", flush=True)
    time.sleep(0.2)
"""

SCRIPTS = {"report.py": REPORT, "ops/long_task.py": LONG}
