"""What every system runs: the sizes (full or ``BENCH_QUICK=1``) and the scripts themselves."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BENCH = Path(__file__).resolve().parent
QUICK = os.environ.get("BENCH_QUICK", "").lower() not in ("", "0", "false", "no")
PYTHON = sys.executable
SLOTS = 20  # S3's concurrent slots; every worker (scriptdeck and baseline b) has this many
# How often the bench's client asks whether an execution has ended (S1, S2). Each ask is
# a request the web server answers on the same 2 cores: BENCH_POLL=0.1 shows its share.
POLL = float(os.environ.get("BENCH_POLL", "0.02"))

FULL = {
    "repeats": 3,
    "s1_tasks": 40,
    "s1_tasks_poll_2s": 40,
    "s2_tasks": 10,
    "s2_n": 33,
    "s2_tasks_poll_2s": 10,
    "s3_tasks": 2000,
    "s4_tasks": 400,
    "s5_rows": 1_000_000,
    "s5_requests": 50,
    "s6_bytes": 1024**3,
    "s6_repeats": 2,
    "s7_clients": 200,
    "s7_seconds": 20,
    "sampling_seconds": 5,
}
REDUCED = {
    **FULL,
    "repeats": 2,
    "s1_tasks_poll_2s": 5,
    "s2_tasks": 3,
    "s2_tasks_poll_2s": 2,
    "s3_tasks": 200,
    "s4_tasks": 150,
    "s5_rows": 100_000,
    "s6_bytes": 100 * 1024**2,
    "s6_repeats": 1,
    "s7_seconds": 8,
    "sampling_seconds": 2,
}
SIZES = REDUCED if QUICK else FULL

# --- the scripts: plain Python, the same file for every system -------------------------------

PARAMS = "import json, os\nP = json.loads(os.environ.get('SCRIPT_PARAMETERS') or '{}')\n"
SCRIPTS = {
    "bench_fibo.py": PARAMS
    + textwrap.dedent(
        """
        def fibo(n):
            return n if n < 2 else fibo(n - 1) + fibo(n - 2)
        n = int(P.get("n", 10))
        print(json.dumps({"n": n, "fibo": fibo(n)}))
        """
    ),
    "bench_sleep.py": PARAMS
    + "import time\ntime.sleep(float(P.get('seconds', 0.1)))\nprint(json.dumps({'slept': True}))\n",
    "bench_noop.py": PARAMS + "print('{}')\n",
    "bench_bigout.py": PARAMS
    + textwrap.dedent(
        """
        import sys
        left = int(P.get("bytes", 1024 ** 3))
        line = b"x" * 127 + b"\\n"
        block = line * 512  # 64 KiB of 128-byte lines
        out = sys.stdout.buffer
        while left > 0:
            piece = block if left >= len(block) else block[:left]
            out.write(piece)
            left -= len(piece)
        out.flush()
        """
    ),
    "bench_ticker.py": PARAMS
    + textwrap.dedent(
        """
        import time
        end = time.time() + float(P.get("seconds", 30))
        i = 0
        while time.time() < end:
            print(json.dumps({"i": i, "t": time.time()}), flush=True)
            i += 1
            time.sleep(0.1)
        print(json.dumps({"ticks": i}))
        """
    ),
}
# A team's catalogue is more than five scripts: S5's history spreads over these too.
for _index in range(25):
    SCRIPTS[f"ops_{_index:02d}.py"] = "print('{}')\n"

SCHEMAS = {
    "bench_fibo": {"n": {"type": "integer"}},
    "bench_sleep": {"seconds": {"type": "number"}},
    "bench_bigout": {"bytes": {"type": "integer"}},
    "bench_ticker": {"seconds": {"type": "number"}},
}
