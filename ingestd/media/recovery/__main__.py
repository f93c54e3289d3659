"""`python -m ingestd.media.recovery DAMAGED REFERENCE OUT [--limit S] [--memory MB]`: one
recovery in a process of its own (the after-dock job runs it through ingestd.toolrun, which
kills it at its time limit); prints what was recovered as one JSON line (a
named failure: one line on stderr, exit 3 or, for a reference that cannot serve, 4). libav meets the
damaged bytes here, so a native crash on a hostile file ends this process, not the dock's."""

from __future__ import annotations

import argparse
import json
import resource
import sys

from ingestd.errors import IngestdError
from ingestd.media.recovery import EXIT_FAILED, EXIT_REFERENCE_UNUSABLE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingestd.media.recovery")
    parser.add_argument("damaged")
    parser.add_argument("reference")
    parser.add_argument("out")
    parser.add_argument("--limit", type=float, default=600.0, help="seconds before it gives up")
    parser.add_argument("--memory", type=int, default=2048, help="address space limit, MiB")
    args = parser.parse_args(argv)
    limit = args.memory << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from ingestd.media.recovery.reference import ReferenceUnusable
    from ingestd.media.recovery.run import recover  # after the limit: libav's allocations count

    try:
        result = recover(args.damaged, args.reference, args.out, args.limit)
    except ReferenceUnusable as exc:
        print(str(exc).replace("\n", " "), file=sys.stderr)
        return EXIT_REFERENCE_UNUSABLE
    except (IngestdError, MemoryError) as exc:
        print(str(exc).replace("\n", " ") or type(exc).__name__, file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(result.as_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
