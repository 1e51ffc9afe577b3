"""The server under hostile load: is its health check still answered while slow connections and oversized
bodies hit it?

    .venv/bin/python bench/api_load.py [--quick]

Set-up (not timed): a fresh SQLite database with one user and an API token; ``borderwatch serve`` (the
command an agency runs, with its default limits: 10 s to send headers, 30 s of body silence, 1 MiB JSON
bodies, 2 GiB uploads, 4,000 connections) in a subprocess on loopback. Then, in the same run:

- unloaded: ``GET /api/health`` on a new connection every 50 ms, nothing else (the baseline);
- loaded: the same probe while a second process holds 1,000 slow connections (each sends a header byte a
  second and never finishes; when the server cuts one, it opens another) and streams oversized bodies from
  four connections at once, over and over: 64 MiB chunked to a JSON endpoint signed in (refused at the
  1 MiB cap) and not signed in (refused before reading), a 4 GiB upload announced by its Content-Length
  (refused from the header), a stranger's 1 GiB upload (refused before reading).

Reports health p50/p99/max per phase and the ratio loaded/unloaded, the server's resident memory (peak of
the phase, sampled every 0.2 s, and the process's high-water mark), and what the attackers achieved;
writes bench/results/api_load.json. Goal: loaded health p99 < 200 ms, memory not growing with the bodies.
The attackers run at the lowest priority (``nice 19``): on one machine they would otherwise take the cores
from the server they attack, which a remote attacker cannot. Bounded: about 90 s (``--quick``: 30 s);
every process stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
PROBE_EVERY = 0.05


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _setup(folder: Path) -> tuple[str, str]:
    from borderwatch.access import service as access
    from borderwatch.db.session import make_engine, migrate, session_factory, session_scope

    url = f"sqlite:///{folder / 'load.db'}"
    engine = make_engine(url)
    migrate(engine)
    with session_scope(session_factory(engine)) as session:
        access.add_user(db_session=session, username="load", role="analyst", agency="load", password=None)
        _row, token = access.create_token(db_session=session, username="load", name="load")
    engine.dispose()
    return url, token


def _health(port: int) -> tuple[float, int | None]:
    """One probe on a new connection: seconds until the answer is complete, and its status."""
    started = time.perf_counter()
    try:
        with socket.create_connection((HOST, port), timeout=5) as sock:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
    except OSError:
        return time.perf_counter() - started, None
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return time.perf_counter() - started, status


def _rss(pid: int) -> tuple[int, int]:
    """Resident memory now and its high-water mark, bytes."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _phase(port: int, pid: int, seconds: float) -> dict[str, Any]:
    """Probe the health endpoint for ``seconds`` while sampling the server's memory."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak[0] = max(peak[0], _rss(pid)[0])

    sampler = threading.Thread(target=sample, daemon=True)
    cpu_before, wall_before = _cpu_seconds(pid), time.monotonic()
    sampler.start()
    latencies, statuses = [], Counter[str]()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        elapsed, status = _health(port)
        latencies.append(elapsed)
        statuses[str(status)] += 1
        time.sleep(PROBE_EVERY)
    stop.set()
    sampler.join()
    cpu_share = (_cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    values = np.asarray(latencies) * 1000
    return {
        "probes": len(latencies),
        "statuses": dict(statuses),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "max_ms": round(float(values.max()), 2),
        "server_cpu_share": round(cpu_share, 3),
        "rss_peak_mib": round(peak[0] / 2**20, 1),
        "rss_high_water_mib": round(_rss(pid)[1] / 2**20, 1),
    }


# ------------------------------------------------------------------------------------------- the attackers


async def _slow_connection(port: int, until: float, stats: Counter[str]) -> None:
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            stats["connect_failed"] += 1
            await asyncio.sleep(0.5)
            continue
        stats["slow_opened"] += 1
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: slow\r\n")
        try:
            while time.monotonic() < until:
                try:
                    answer = await asyncio.wait_for(reader.read(256), timeout=1.0)
                except TimeoutError:
                    writer.write(b"X")  # one more byte of a header that never ends
                    await writer.drain()
                    continue
                stats["slow_cut_408" if answer.startswith(b"HTTP/1.1 408") else "slow_cut_other"] += 1
                break
        except OSError:
            stats["slow_cut_reset"] += 1
        finally:
            writer.close()


def _heads(token: str) -> list[tuple[str, bytes, int]]:
    """(name, request head, body bytes to stream after it; 0: none) of each kind of oversized body."""
    chunked = "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
    signed = f"Authorization: Bearer {token}\r\n"
    return [
        (
            "json 64 MiB, signed in",
            f"POST /api/declarations HTTP/1.1\r\nHost: b\r\n{chunked}{signed}\r\n".encode(),
            64 << 20,
        ),
        (
            "json 64 MiB, stranger",
            f"POST /api/declarations HTTP/1.1\r\nHost: b\r\n{chunked}\r\n".encode(),
            64 << 20,
        ),
        (
            "upload 4 GiB announced",
            f"POST /api/uploads HTTP/1.1\r\nHost: b\r\n{signed}"
            f"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {4 << 30}\r\n\r\n".encode(),
            0,
        ),
        (
            "upload 1 GiB, stranger",
            b"POST /api/uploads HTTP/1.1\r\nHost: b\r\nContent-Type: multipart/form-data; boundary=B\r\n"
            + f"Content-Length: {1 << 30}\r\n\r\n".encode(),
            0,
        ),
    ]


async def _oversized(port: int, token: str, until: float, stats: Counter[str], start: int) -> None:
    chunk = b"%x\r\n%s\r\n" % (1 << 16, b" " * (1 << 16))
    heads = _heads(token)
    turn = start
    while time.monotonic() < until:
        name, head, body = heads[turn % len(heads)]
        turn += 1
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            stats["connect_failed"] += 1
            await asyncio.sleep(0.5)
            continue
        answer = asyncio.ensure_future(reader.read(64))
        sent = 0
        try:
            writer.write(head)
            while sent < body and not answer.done():
                writer.write(chunk)
                await writer.drain()
                sent += 1 << 16
            status = (await asyncio.wait_for(answer, timeout=10)).split(b" ")[1:2]
            stats[f"{name}: {status[0].decode() if status else 'closed'}"] += 1
        except (OSError, TimeoutError, IndexError):
            stats[f"{name}: reset"] += 1
        finally:
            stats["body_bytes_written"] += sent  # into the socket, kernel buffers included, until refused
            answer.cancel()
            writer.close()


async def _attack(port: int, token: str, seconds: float, slow: int, streams: int) -> Counter[str]:
    stats: Counter[str] = Counter()
    until = time.monotonic() + seconds
    tasks = []
    for i in range(slow):
        tasks.append(asyncio.ensure_future(_slow_connection(port, until, stats)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # about 2 s to open them all
    tasks += [asyncio.ensure_future(_oversized(port, token, until, stats, i)) for i in range(streams)]
    await asyncio.gather(*tasks)
    return stats


def attacker_main(port: int, token: str, seconds: float, slow: int, streams: int) -> None:
    # A real attacker's CPU is not the server's: on this one machine the attackers yield the cores first, so
    # that what is measured is the server's handling of their traffic, not a fight for the CPU with them.
    os.nice(19)
    stats = asyncio.run(_attack(port, token, seconds, slow, streams))
    print(json.dumps(dict(stats)))


# ------------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 30 s")
    parser.add_argument("--slow", type=int, default=1000, help="slow connections to hold (default 1000)")
    parser.add_argument("--streams", type=int, default=4, help="connections streaming oversized bodies")
    parser.add_argument("--attack", nargs=5, help=argparse.SUPPRESS)  # port token seconds slow streams
    args = parser.parse_args()
    if args.attack:
        port, token, seconds, slow, streams = args.attack
        attacker_main(int(port), token, float(seconds), int(slow), int(streams))
        return
    unloaded_s, loaded_s = (8.0, 12.0) if args.quick else (25.0, 45.0)
    slow = args.slow
    warm_up = 5.0  # the slow connections open, and reach the header time-out once, before probing
    console = Console(width=max(Console().width, 110))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        url, token = _setup(folder)
        port = _free_port()
        env = {**os.environ, "BORDERWATCH_DATABASE_URL": url, "BORDERWATCH_DATA_DIR": str(folder / "data")}
        command = [str(Path(sys.executable).parent / "borderwatch"), "serve", "--port", str(port)]
        server = subprocess.Popen(
            command, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        attacker: subprocess.Popen[str] | None = None
        try:
            deadline = time.monotonic() + 60
            while _health(port)[1] != 200:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            for _ in range(20):
                _health(port)  # warm
            console.print(f"unloaded: {unloaded_s:.0f} s of health probes …")
            unloaded = _phase(port, server.pid, unloaded_s)
            console.print(f"loaded: {slow} slow connections and oversized bodies for {loaded_s:.0f} s …")
            attack_s = warm_up + loaded_s + 1
            attacker = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--attack",
                    str(port),
                    token,
                    str(attack_s),
                    str(slow),
                    str(args.streams),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(warm_up)
            attacker_cpu = _cpu_seconds(attacker.pid)
            loaded = _phase(port, server.pid, loaded_s)
            loaded["attacker_cpu_share"] = round((_cpu_seconds(attacker.pid) - attacker_cpu) / loaded_s, 3)
            out, _ = attacker.communicate(timeout=60)
            attack = json.loads(out.strip().splitlines()[-1])
        finally:
            if attacker is not None and attacker.poll() is None:
                attacker.kill()
            server.terminate()
            server.wait(timeout=30)
    results = {
        "quick": args.quick,
        "slow_connections": slow,
        "streams": args.streams,
        "unloaded": unloaded,
        "loaded": loaded,
        "p99_ratio": round(loaded["p99_ms"] / unloaded["p99_ms"], 2),
        "attack": attack,
        "note": "server, probe and attackers share the machine's 2 cores with other people's work",
    }
    table = Table(title="GET /api/health under hostile load (borderwatch serve, SQLite, loopback)")
    for column in ("phase", "probes", "non-200", "p50 ms", "p99 ms", "max ms", "RSS peak MiB", "RSS HWM MiB"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for name in ("unloaded", "loaded"):
        row = results[name]
        bad = sum(n for status, n in row["statuses"].items() if status != "200")
        table.add_row(
            name,
            str(row["probes"]),
            str(bad),
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            f"{row['max_ms']:.1f}",
            f"{row['rss_peak_mib']:.0f}",
            f"{row['rss_high_water_mib']:.0f}",
        )
    console.print(table)
    attacks = Table(title="what the attackers got")
    attacks.add_column("attempt")
    attacks.add_column("count", justify="right")
    for name, count in sorted(attack.items()):
        attacks.add_row(name, f"{count:,}")
    console.print(attacks)
    console.print(
        f"loaded/unloaded p99: {results['p99_ratio']:.2f}; goal: loaded p99 < 200 ms; "
        f"body bytes the attackers wrote: {attack.get('body_bytes_written', 0) / 2**30:.1f} GiB; server "
        f"CPU {loaded['server_cpu_share']:.0%} of a core loaded, {unloaded['server_cpu_share']:.0%} idle; "
        f"{results['note']}."
    )
    out_file = BENCH_DIR / "results" / "api_load.json"
    out_file.parent.mkdir(exist_ok=True)
    out_file.write_text(json.dumps(results, indent=2), encoding="utf-8")
    console.print(f"wrote {out_file.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
