"""`make bench` (the bucket as the archive): against SeaweedFS with Object Lock on loopback,
each figure beside a plain S3 GET of the same bytes measured in the same run (the page cache
dropped before each timed step):
  - evictions: BENCH_ARCHIVE_CLIPS originals (never read back before, so each eviction reads
    its copy back in full first) moved off the disk, per second and against plain GETs of
    all their files;
  - first byte from the bucket: the original of an evicted recording, a ranged GET of its
    first 64 KiB (what a player's first request asks), median of 20;
  - export from the bucket: a 1080p clip kept in the bucket only, exported to a BagIt bag
    (fetched, its SHA-256 checked, copied in), against a plain GET of the same bytes, and
    against the same export once the original is back on the disk.
Writes bench/out/archive.json."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_dock import drop_caches, unique_copy  # noqa: E402
from sqlalchemy import select  # noqa: E402

from ingestd.afterdock import ingest, replicate_pending  # noqa: E402
from ingestd.app import App, initialise  # noqa: E402
from ingestd.config import MediaSettings, ReplicaSettings, Settings, StoreSettings  # noqa: E402
from ingestd.db.models import Recording, ReplicaVersion  # noqa: E402
from ingestd.evidence.export import export  # noqa: E402
from ingestd.media.synthetic import ClipSpec, make_clip  # noqa: E402
from ingestd.replica.bucket import bucket_of  # noqa: E402
from ingestd.replica.evict import evict_due  # noqa: E402
from ingestd.replica.recall import recall  # noqa: E402
from ingestd.users import add_user  # noqa: E402
from tests.s3_server import start_s3  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
CLIPS = int(os.environ.get("BENCH_ARCHIVE_CLIPS", "20"))
LONG_S = float(os.environ.get("BENCH_CLIP_S", "60"))
KEY, SECRET = "ingestd-bench", "bench-secret-not-real"


def _plain_get(bucket, versions) -> float:
    drop_caches()
    t = time.monotonic()
    for key, version_id in versions:
        body = bucket.client.get_object(Bucket=bucket.name, Key=key, VersionId=version_id)["Body"]
        for _chunk in body.iter_chunks(1 << 20):
            pass
    return time.monotonic() - t


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ingestd-bench-a-", dir=os.environ.get("BENCH_DIR", "/var/tmp")))
    server = start_s3(tmp / "seaweedfs")
    try:
        settings = Settings(data_dir=tmp / "var", dock_name="bench-dock", web={"enabled": False},
                            media=MediaSettings(proxy_policy="on_demand"),
                            replica=ReplicaSettings(enabled=True, endpoint=server.endpoint, bucket="bench-archive",
                                                    access_key_id=KEY, secret_access_key=SECRET),
                            store=StoreSettings(keep_local_days=0, evict_open_retention=True, free_target_pct=100))
        initialise(settings)
        app = App.open(settings)
        add_user(app, "L1", "法制员", "legal", None, None, None, "admin")
        base = make_clip(tmp / "base.mp4", ClipSpec(seconds=3, width=640, height=360))
        cam = tmp / "CAM-BENCH"
        cam.mkdir()
        for i in range(CLIPS):
            unique_copy(base.read_bytes(), cam / f"20261120_08{i // 60:02d}{i % 60:02d}.mp4", i)
        long_clip = make_clip(tmp / "long.mp4", ClipSpec(seconds=LONG_S, width=1920, height=1080, fps=30,
                                                         bitrate="8M"))
        shutil.copyfile(long_clip, cam / "20261120_093000.mp4")
        ingest(app, [cam], device="CAM-BENCH")
        replicate_pending(app, work=True)
        bucket = bucket_of(app)
        with app.db.reading() as s:
            recs = {r.id: r for r in s.execute(select(Recording)).scalars()}
            versions = [(v.key, v.version_id) for v in s.execute(select(ReplicaVersion)).scalars()]
        long_rec = max(recs.values(), key=lambda r: r.size)
        small = [(k, v) for k, v in versions if long_rec.id not in k.split("/")[3]]

        plain_small_s = _plain_get(bucket, small)
        drop_caches()
        t = time.monotonic()
        run = evict_due(app, limit=CLIPS, force=True)
        evict_s = time.monotonic() - t
        assert len(run.evicted) == CLIPS, run.as_dict()
        evict_due(app, force=True)  # the long one too

        firsts = []
        with app.db.reading() as s:
            original = s.execute(select(ReplicaVersion).where(ReplicaVersion.recording_id == long_rec.id,
                                                              ReplicaVersion.sha256 == long_rec.id)).scalar_one()
        for _ in range(20):
            t = time.monotonic()
            body = bucket.client.get_object(Bucket=bucket.name, Key=original.key, VersionId=original.version_id,
                                            Range="bytes=0-65535")["Body"]
            body.read(1)
            firsts.append(time.monotonic() - t)
            body.read()
        plain_long_s = _plain_get(bucket, [(original.key, original.version_id)])
        import weasyprint  # noqa: F401  - loaded once, before either export is timed (the 文字说明's PDF)
        drop_caches()
        t = time.monotonic()
        export(app, [long_rec.id], tmp / "export", "L1")
        export_s = time.monotonic() - t
        # The same export of the same original on the disk: what the bucket adds.
        recall(app, long_rec.id, "L1")
        shutil.rmtree(app.data.fetched, ignore_errors=True)
        drop_caches()
        t = time.monotonic()
        export(app, [long_rec.id], tmp / "export-local", "L1")
        local_s = time.monotonic() - t
        mb = long_rec.size / 1e6
        results = {
            "evictions": {"recordings": CLIPS, "seconds": round(evict_s, 2), "per_s": round(CLIPS / evict_s, 1),
                          "plain_get_s": round(plain_small_s, 2), "ratio": round(evict_s / plain_small_s, 1)},
            "first_byte_ms": {"median": round(statistics.median(firsts) * 1000, 1),
                              "max": round(max(firsts) * 1000, 1)},
            "export": {"mb": round(mb, 1), "seconds": round(export_s, 2), "mb_s": round(mb / export_s, 1),
                       "plain_get_s": round(plain_long_s, 2), "ratio": round(export_s / plain_long_s, 1),
                       "from_disk_s": round(local_s, 2), "vs_disk": round(export_s / local_s, 2)},
        }
        e, f, x = results["evictions"], results["first_byte_ms"], results["export"]
        print(f"archive: {e['recordings']} evictions (each reading its copy back first) in {e['seconds']} s = "
              f"{e['per_s']}/s, {e['ratio']}x plain GETs of the same files ({e['plain_get_s']} s)", flush=True)
        print(f"archive: first byte of an original from the bucket, median {f['median']} ms (max {f['max']} ms)",
              flush=True)
        print(f"archive: export of a {x['mb']} MB original kept in the bucket only in {x['seconds']} s "
              f"({x['mb_s']} MB/s) = {x['ratio']}x a plain GET of it ({x['plain_get_s']} s); the same export from "
              f"the disk {x['from_disk_s']} s ({x['vs_disk']}x)", flush=True)
        OUT.mkdir(exist_ok=True)
        (OUT / "archive.json").write_text(json.dumps(results, indent=2))
        app.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
