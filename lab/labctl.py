#!/usr/bin/env python3
"""Lab entry point: ``labctl.py up|down|status|env [service ...]``.

``up`` starts the named services (default: every default service) and their
dependencies in order, skipping those already healthy; ``down`` stops them in
reverse order and checks no process is left; ``status`` reports each service.
"""

from __future__ import annotations

import argparse
import fcntl
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.framework import Lab, LabError, discover, log, main_exit, order, tail, write_env


def cmd_up(lab: Lab, names: list[str]) -> None:
    services = discover()
    wanted = names or [n for n, s in services.items() if s.default]
    for name in order(services, wanted):
        svc = services[name]
        if svc.healthy(lab):
            log(f"{name}: already running")
            svc.ready(lab)
            continue
        if any(lab.alive(pid) for pid in lab.pids(name).values()):
            # Alive but not answering: slow under load or still starting. Restarting it would throw
            # away its state (moto keeps everything in memory), so give it time first.
            log(f"{name}: running but not healthy yet, waiting up to {svc.start_timeout:.0f}s")
            try:
                lab.wait_until(lambda s=svc: s.healthy(lab), svc.start_timeout, f"{name} to answer")
                log(f"{name}: healthy")
                svc.ready(lab)
                continue
            except LabError:
                log(f"{name}: not healthy, restarting")
        log(f"{name}: starting")
        t0 = time.monotonic()
        try:
            svc.stop(lab)  # leftovers of a crashed run
            svc.start(lab)
            lab.wait_until(lambda s=svc: s.healthy(lab), svc.start_timeout, f"{name} to become healthy", svc.logs(lab))
            svc.ready(lab)
        except LabError:
            raise
        except Exception as exc:
            tails = "\n".join(f"  --- {p} ---\n{tail(p)}" for p in svc.logs(lab))
            raise LabError(f"{name}: {exc}\n{tails}") from exc
        log(f"{name}: healthy in {time.monotonic() - t0:.1f}s — {svc.describe(lab)}")
    path = write_env(lab, services)
    log(f"environment written to {path}")


def cmd_down(lab: Lab, names: list[str]) -> None:
    services = discover()
    wanted = names or list(services)
    for name in reversed(order(services, wanted)):
        if names and name not in names:
            continue  # do not stop dependencies that were not asked for
        svc = services[name]
        if lab.pids(name) or svc.healthy(lab):
            log(f"{name}: stopping")
        svc.stop(lab)
        left = {p: pid for p, pid in lab.pids(name).items() if lab.alive(pid)}
        if left:
            raise LabError(f"{name}: processes left behind: {left}")
    write_env(lab, services)


def cmd_status(lab: Lab, names: list[str]) -> int:
    services = discover()
    bad = 0
    for name in order(services, names or list(services)):
        svc = services[name]
        ok = svc.healthy(lab)
        state = "up" if ok else ("DOWN (stale pid files)" if lab.pids(name) else "down")
        if not ok and (names or svc.default):
            bad += 1
        print(f"{name:12} {state:24} {svc.describe(lab) if ok else ''}")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["up", "down", "status", "env"])
    ap.add_argument("services", nargs="*")
    args = ap.parse_args()
    lab = Lab()
    # One lab command at a time: concurrent `up`s (parallel test runs) must not race on start/stop.
    lock = open(lab.root / ".lock", "w")  # noqa: SIM115 - held for the life of the process
    if args.action in ("up", "down"):
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        if args.action == "up":
            cmd_up(lab, args.services)
        elif args.action == "down":
            cmd_down(lab, args.services)
        elif args.action == "status":
            sys.exit(cmd_status(lab, args.services))
        else:
            print(write_env(lab, discover()).read_text(), end="")
    except LabError as err:
        main_exit(err)


if __name__ == "__main__":
    main()
