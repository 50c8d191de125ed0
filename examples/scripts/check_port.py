"""Check that a TCP port accepts connections: a plain argparse script, read from its parser."""

import argparse
import json
import socket
import sys
import time

FAMILIES = {"any": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Check that a TCP port on a host accepts connections."
    )
    parser.add_argument("--host", required=True, help="host name or address to connect to")
    parser.add_argument("--port", type=int, default=22, help="TCP port to connect to")
    parser.add_argument(
        "--timeout", type=float, default=3.0, help="seconds to wait for each connection"
    )
    parser.add_argument(
        "--family", choices=["any", "ipv4", "ipv6"], default="any", help="address family to try"
    )
    parser.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="a label printed with the result; give it more than once for several",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="say more: -vv prints every address"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be checked, connect to nothing"
    )
    return parser


def addresses(host: str, port: int, family: str) -> list[tuple]:
    found = socket.getaddrinfo(host, port, FAMILIES[family], socket.SOCK_STREAM)
    return [(entry[0], entry[4]) for entry in found]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # What the script was given, exactly: the first thing to look at when a run surprises.
    print("argv:", json.dumps(sys.argv[1:] if argv is None else argv))
    target = f"{args.host}:{args.port}"
    tags = f" [{', '.join(args.tag)}]" if args.tag else ""
    if args.dry_run:
        print(f"would check {target} ({args.family}, timeout {args.timeout:g}s){tags}")
        return 0
    try:
        candidates = addresses(args.host, args.port, args.family)
    except socket.gaierror as error:
        print(f"{target}: cannot resolve {args.host}: {error}{tags}", file=sys.stderr)
        return 2
    last_error: OSError | None = None
    for family, address in candidates:
        if args.verbose >= 2:
            print(f"trying {address[0]} port {address[1]}")
        started = time.monotonic()
        try:
            with socket.socket(family, socket.SOCK_STREAM) as connection:
                connection.settimeout(args.timeout)
                connection.connect(address)
        except OSError as error:
            last_error = error
            continue
        elapsed = (time.monotonic() - started) * 1000
        detail = f" via {address[0]}" if args.verbose else ""
        print(f"{target} is open{detail} ({elapsed:.1f} ms){tags}")
        return 0
    print(f"{target} is closed: {last_error}{tags}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
