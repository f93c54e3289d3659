"""Driver for `make bench`: work the SM3 jobs a dock left, on every core, as the daemon's job
workers do, and print how long it took. Reads INGESTD_DATA_DIR like any command.
`--again`: first queue the finished SM3 jobs once more (through the audited door), for
another round over the same files."""

from __future__ import annotations

import json
import os
import sys
import time

from sqlalchemy import select

from ingestd.afterdock import runner
from ingestd.app import App
from ingestd.config import load_settings
from ingestd.db.models import Job
from ingestd.jobs import queue
from ingestd.jobs.kinds import JobKind


def main() -> None:
    app = App.open(load_settings())
    try:
        if "--again" in sys.argv:
            with app.db.reading() as s:
                ids = list(s.execute(select(Job.id).where(Job.kind == JobKind.SM3, Job.status == "done")).scalars())
            for job_id in ids:
                queue.retry(app, job_id, "bench")
        work = runner(app, (JobKind.SM3,), os.cpu_count() or 1, name="bench-sm3")
        start = time.monotonic()
        jobs = work.run_until_idle()
        print(json.dumps({"jobs": jobs, "seconds": round(time.monotonic() - start, 2)}))
    finally:
        app.close()


if __name__ == "__main__":
    main()
