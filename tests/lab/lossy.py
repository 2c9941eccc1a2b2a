#!/usr/bin/env python3
"""Connects over a lossy, reordering path, against the reference client.

The server VM's own netem impairs server -> client (loss, reordering, delay); an
nftables rule in the client namespace drops the same share of client -> server.
pptp-client connects RUNS times per MPPE mode; then the reference, pppd 2.4.9 +
pptp-linux in a second VM on the same wire (its own netem drops its egress),
does the same. Prints both tables: success rate and time to Up (median, worst).

    lossy.py [RUNS] [stateless|stateful] [--ours-only]
        (10 in README's test command; 50 for the full comparison; a mode runs only
        that one; --ours-only skips the reference, for trying a change quickly;
        LOSSY_ARGS="--no-ipv6 ..." adds pptp-client options, to compare a setting)

Passes when pptp-client fails at most one connect in 50 and never succeeds less
often than the reference (a run shorter than 50 allows two failures and one
connect of slack)."""
import os
import sys
import time

import labvm  # noqa: E402
from interop import Client  # noqa: E402
from labvm import SERVER, in_ns, sh, vm  # noqa: E402

LOSS = 5
NETEM = f"loss,{LOSS}%,reorder,10%,delay,10ms"
MODES = [("stateless", [], "128"), ("stateful", ["--mppe-stateful"], "128-stateful")]


def ours(runs, args):
    results = []
    for _ in range(runs):
        t = time.monotonic()
        c = Client(["--server", SERVER, "--user", "alice", "--debug"] + args + os.environ.get("LOSSY_ARGS", "").split())
        failure = None
        try:
            up = c.wait("up", 60)
            results.append(("up", time.monotonic() - t, up["mppe"]))
        except AssertionError as e:
            failure = (time.monotonic() - t, str(e)[:200])
        c.stop()
        try:
            c.exit_code(15)
        except AssertionError:
            pass
        if failure:
            # Both ends' packet logs, for the failure's story.
            time.sleep(0.2)
            ours_log = [l for l in "".join(c.stderr).splitlines() if "sent [" in l or "rcvd [" in l
                        or "implied" in l or "held" in l]
            results.append(("failed", failure[0], failure[1]
                            + "\n      server: " + "      ".join(labvm.server_log(40).splitlines(True)[-25:])
                            + "      client: " + "\n      ".join(ours_log[-30:])))
        time.sleep(1)  # as the reference does between its connects
    return results


def summary(results):
    times = sorted(t for ok, t, _ in results if ok == "up")
    n = len(times)
    if not n:
        return f"0/{len(results)} up"
    return f"{n}/{len(results)} up, time to Up median {times[n // 2]:.1f} s, worst {times[-1]:.1f} s"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    ours_only = "--ours-only" in sys.argv
    runs = int(args[0]) if args else 10
    modes = [m for m in MODES if len(args) < 2 or m[0] in args[1:]]
    # The target is 49 of 50 and never below the reference. A short run (CI's 5)
    # is a smoke test of the same thing with room for chance: one failure in
    # five, and one connect of slack against the reference.
    allowed = runs // 50 if runs >= 50 else max(1, runs // 5)
    slack = 0 if runs >= 50 else 1
    failed = []
    try:
        for name, flags, mppe in modes:
            vm(mppe=mppe, netem=NETEM)
            drop = f"add table ip lossy; add chain ip lossy out {{ type filter hook output priority 0; }}; add rule ip lossy out oifname c0 numgen random mod 100 < {LOSS} drop"
            r = in_ns(["nft", drop])
            assert r.returncode == 0, r.stderr
            try:
                mine = ours(runs, flags)
            finally:
                in_ns(["nft", "delete table ip lossy"])
            ref = [] if ours_only else [(ok, t, "") for ok, t in labvm.reference(runs, mppe=mppe, netem=f"loss,{LOSS}%")]
            ok_mine = sum(1 for ok, _, _ in mine if ok == "up")
            ok_ref = sum(1 for ok, _, _ in ref if ok == "up")
            print(f"--- {name} MPPE, {LOSS}% loss each way, 10% reordering, 10 ms delay, {runs} connects", flush=True)
            print(f"    pptp-client:            {summary(mine)}", flush=True)
            if not ours_only:
                print(f"    pppd 2.4.9 + pptp-linux: {summary(ref)}", flush=True)
            for ok, t, why in mine:
                if ok != "up":
                    print(f"    pptp-client failure after {t:.1f} s: {why}", flush=True)
            for ok, t, _ in ref:
                if ok != "up":
                    print(f"    reference failure after {t:.1f} s (no address within 60 s, or pppd ended)", flush=True)
            if runs - ok_mine > allowed or ok_mine + slack < ok_ref:
                failed.append(name)
    finally:
        sh(["bash", labvm.LAB, "down"])
    if failed:
        print(f"lossy connects below target: {', '.join(failed)}")
        sys.exit(1)
    print("lossy connects on target")


if __name__ == "__main__":
    main()
