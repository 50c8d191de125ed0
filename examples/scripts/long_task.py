"""A long task: logs a progress line every `interval` seconds for `steps` steps, then reports."""

import time

from scriptdeck.sdk import ScriptBase, create_simple_script

PARAMETERS = {
    "steps": {
        "type": "integer",
        "minimum": 0,
        "maximum": 10000,
        "default": 10,
        "description": "How many progress lines to log.",
    },
    "interval": {
        "type": "number",
        "minimum": 0,
        "maximum": 3600,
        "default": 1,
        "description": "Seconds between two lines.",
    },
}


def main_logic(script: ScriptBase):
    steps = int(script.get_parameter("steps", 10))
    interval = float(script.get_parameter("interval", 1))
    if steps < 0 or interval < 0:
        raise ValueError("steps and interval must not be negative")
    started = time.monotonic()
    for step in range(1, steps + 1):
        time.sleep(interval)
        print(f"step {step}/{steps} done after {time.monotonic() - started:.1f}s", flush=True)
    # The SDK writes the result to SCRIPT_RESULT_FILE, so these log lines do not spoil it.
    return script.success_result(
        f"{steps} steps done",
        {
            "steps": steps,
            "interval": interval,
            "elapsed": round(time.monotonic() - started, 3),
        },
    )


if __name__ == "__main__":
    create_simple_script("long_task", main_logic)
