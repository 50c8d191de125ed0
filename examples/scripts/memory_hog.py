"""Memory hog: fills `mb` megabytes (default 300) of real memory and holds it `seconds` seconds."""

import mmap
import resource
import sys
import time

from scriptdeck.sdk import ScriptBase, create_simple_script

PARAMETERS = {
    "mb": {
        "type": "integer",
        "minimum": 0,
        "maximum": 65536,
        "default": 300,
        "title": "Megabytes",
        "description": "How much memory to fill and hold.",
    },
    "seconds": {
        "type": "number",
        "minimum": 0,
        "maximum": 3600,
        "default": 1,
        "description": "How long to hold it.",
    },
}


def peak_rss_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main_logic(script: ScriptBase):
    megabytes = int(script.get_parameter("mb", 300))
    seconds = float(script.get_parameter("seconds", 1))
    if megabytes < 0 or seconds < 0:
        raise ValueError("mb and seconds must not be negative")
    size = megabytes * 1024 * 1024
    block = bytearray(size)
    # A fresh bytearray may be untouched zero pages: write one byte per page so it is resident.
    pages = len(range(0, size, mmap.PAGESIZE))
    block[:: mmap.PAGESIZE] = b"\x01" * pages
    time.sleep(seconds)
    return script.success_result(
        f"held {megabytes} MB for {seconds:g}s",
        {
            "mb": megabytes,
            "bytes": len(block),
            "pages_touched": pages,
            "seconds": seconds,
            "peak_rss_mb": round(peak_rss_mb(), 1),
        },
    )


if __name__ == "__main__":
    create_simple_script("memory_hog", main_logic)
