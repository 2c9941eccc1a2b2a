#!/usr/bin/env python3
"""pptp-client against accel-ppp, beside the reference (pppd 2.4.9 +
pptp-linux) against the same server.

accel-ppp is the second server implementation in the lab: where pptpd hands
each call to pppd, accel-ppp does LCP, MS-CHAPv2, CCP and IPCP itself (kernel
MPPE, stateless 128-bit only). Each configuration starts from a freshly booted
server; every connect must come up and carry traffic right after Up (a ping
answered within three tries of 3 s), and pptp-client must never do worse than
the reference on the same server: at least as many working connects, and a
median and worst time to Up no longer than the reference's (on the lossy
path, the median).

    accel.py [RUNS] [CONFIG...]   RUNS connects per configuration (20, the
                                  default: the full matrix; README's test
                                  command runs 2 of three configurations)

CONFIG: mschapv2_mppe128, echo_probing, lossy, session_limit, reconnect,
wrong_password (default: all). Run as root."""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labvm  # noqa: E402
from interop import Client  # noqa: E402
from labvm import LAB, SERVER, in_ns, links, routes, server_log, sh  # noqa: E402

LOSS = 5
LOSSY = f"loss,{LOSS}%,reorder,10%,delay,10ms"


def fresh_server(**opts):
    """A newly booted accel-ppp with these lab.* settings (the namespaces stay)."""
    if labvm.current_vm is None:
        labvm.vm(impl="accel", **opts)
    else:
        labvm.reboot_vm(impl="accel", **opts)


def traffic(peer):
    """Whether the tunnel carries a ping: up to three tries of 3 s."""
    for _ in range(3):
        if in_ns(["ping", "-c", "1", "-W", "3", peer]).returncode == 0:
            return True
    return False


def ours(runs, args=(), hold=0.0):
    """RUNS connects: ("up" | "up-without-traffic" | "failed: ...", seconds to
    Up). With `hold`, each call stays up that long and must still carry
    traffic at the end (the server's echo probing answered)."""
    out = []
    for _ in range(runs):
        before = routes()
        t = time.monotonic()
        c = Client(["--server", SERVER, "--user", "alice"] + list(args))
        try:
            up = c.wait("up", 60)
            took = time.monotonic() - t
            ok = "up" if traffic(up["peer"]) else "up-without-traffic"
            if ok == "up" and hold:
                time.sleep(hold)
                if c.p.poll() is not None:
                    ok = f"failed: went down while held ({''.join(c.stderr)[-300:]})"
                elif not traffic(up["peer"]):
                    ok = "up-without-traffic (after the hold)"
            out.append((ok, took))
        except AssertionError as e:
            out.append((f"failed: {str(e)[:300]}", time.monotonic() - t))
        c.stop()
        try:
            code = c.exit_code(15)
        except AssertionError as e:
            code = str(e)
        if out[-1][0] == "up" and (code != 0 or routes() != before):
            out[-1] = (f"failed: exit {code} or routes left after SIGTERM", out[-1][1])
        time.sleep(1)  # as the reference does between its connects
    return out


def summary(results):
    times = sorted(t for ok, t in results if ok == "up")
    if not times:
        return f"0/{len(results)} up with traffic"
    return (f"{len(times)}/{len(results)} up with traffic, time to Up median "
            f"{statistics.median(times) * 1000:.0f} ms, worst {times[-1] * 1000:.0f} ms")


def compare(name, mine, ref, allowed_failures=0, lossy=False):
    """pptp-client's connects against the reference's: a failure message, or None.
    On a lossy path a connect's time is the loss's luck: the medians are
    compared there, not the worst."""
    print(f"    pptp-client:             {summary(mine)}", flush=True)
    print(f"    pppd 2.4.9 + pptp-linux: {summary(ref)}", flush=True)
    for ok, t in mine:
        if ok != "up":
            print(f"    pptp-client {ok} ({t:.1f} s)", flush=True)
    for ok, t in ref:
        if ok != "up":
            print(f"    reference {ok} ({t:.1f} s)", flush=True)
    good = [t for ok, t in mine if ok == "up"]
    good_ref = [t for ok, t in ref if ok == "up"]
    if len(mine) - len(good) > allowed_failures or len(good) < len(good_ref):
        return f"{name}: {len(good)}/{len(mine)} connects with traffic (reference {len(good_ref)}/{len(ref)})"
    if good and good_ref and (statistics.median(good) > statistics.median(good_ref)
                              or (not lossy and max(good) > max(good_ref))):
        return f"{name}: slower to Up than the reference"
    return None


def config_mschapv2_mppe128(runs):
    fresh_server()
    return compare("mschapv2_mppe128", ours(runs), labvm.reference(runs, mppe=128))


def config_echo_probing(runs):
    """The server probes every second (LCP and PPTP echo, three unanswered end
    the call): each call is held 5 s and must still carry traffic."""
    fresh_server(echo=1)
    return compare("echo_probing", ours(runs, hold=5), labvm.reference(runs, mppe=128))


def config_lossy(runs):
    """5 % loss each way, 10 % reordering, 10 ms delay (the server's netem one
    way, an nftables rule in the client namespace the other). One failure in
    five is allowed in a short run, one in fifty in the full one, as lossy.py."""
    fresh_server(netem=LOSSY)
    drop = ("add table ip lossy; add chain ip lossy out { type filter hook output priority 0; }; "
            f"add rule ip lossy out oifname c0 numgen random mod 100 < {LOSS} drop")
    assert in_ns(["nft", drop]).returncode == 0
    try:
        mine = ours(runs)
    finally:
        in_ns(["nft", "delete table ip lossy"])
    allowed = runs // 50 if runs >= 50 else max(1, runs // 5)
    return compare("lossy", mine, labvm.reference(runs, mppe=128, netem=f"loss,{LOSS}%"), allowed, lossy=True)


def config_session_limit(runs):
    """accel-ppp's session-timeout (8 s): each session that worked ends as the
    server ending it (exit 13), with nothing left behind."""
    fresh_server(maxconnect=8)
    failures = []
    for i in range(runs):
        before = routes()
        c = Client(["--server", SERVER, "--user", "alice"])
        up = c.wait("up", 60)
        if not traffic(up["peer"]):
            failures.append(f"run {i + 1}: no traffic after Up")
        down = c.wait("down", 30)
        code = c.exit_code(10)
        if down["reason"] != "session-ended" or code != 13 or up["ifname"] in links() or routes() != before:
            failures.append(f"run {i + 1}: exit {code}, {down}")
        time.sleep(1)
    print(f"    pptp-client: {runs - len(failures)}/{runs} sessions up with traffic and ended by the server "
          f"as session-ended (last: {down['message']})", flush=True)
    return "; ".join(failures) or None


def config_reconnect(runs):
    """--persist: the server is rebooted under a working call (a fresh
    accel-ppp, which knows nothing of it); the client notices, dials again and
    carries traffic on the same interface."""
    fresh_server()
    c = Client(["--server", SERVER, "--user", "alice", "--persist",
                "--lcp-echo-interval", "1", "--lcp-echo-failure", "3"])
    failures = []
    try:
        up = c.wait("up", 60)
        if not traffic(up["peer"]):
            failures.append("no traffic after the first Up")
        for i in range(runs):
            t = time.monotonic()
            labvm.reboot_vm(impl="accel")
            c.wait("reconnecting", 60)
            again = c.wait("up", 90)
            took = time.monotonic() - t
            if again["ifname"] != up["ifname"] or not traffic(again["peer"]):
                failures.append(f"reconnect {i + 1}: {again}")
        print(f"    pptp-client: {runs - len(failures)}/{runs} reconnects after a server reboot "
              f"(last up {took:.0f} s after the reboot began)", flush=True)
    finally:
        c.stop()
        code = c.exit_code(15)
    return "; ".join(failures) or (None if code == 0 else f"exit {code} after SIGTERM")


def config_wrong_password(runs):
    fresh_server()
    failures = []
    for i in range(runs):
        c = Client(["--server", SERVER, "--user", "alice"], password="not the password")
        down = c.wait("down", 60)
        code = c.exit_code(10)
        if code != 10 or down["reason"] != "auth-failed" or "E=691" not in down["message"]:
            failures.append(f"run {i + 1}: exit {code}, {down}")
    print(f"    pptp-client: {runs - len(failures)}/{runs} refused as auth-failed (exit 10): {down['message']}", flush=True)
    return "; ".join(failures) or None


CONFIGS = [
    config_mschapv2_mppe128,
    config_echo_probing,
    config_lossy,
    config_session_limit,
    config_reconnect,
    config_wrong_password,
]


def main():
    args = sys.argv[1:]
    runs = int(args.pop(0)) if args and args[0].isdigit() else 20
    wanted = set(args)
    failed = []
    try:
        for config in CONFIGS:
            name = config.__name__.removeprefix("config_")
            if wanted and name not in wanted:
                continue
            print(f"--- accel-ppp, {name}, {runs} connects from a fresh server", flush=True)
            t = time.monotonic()
            try:
                why = config(runs)
            except AssertionError as e:
                why = f"{name}: {e}\n    server log:\n{server_log(30)}"
            print(f"    {'FAILED: ' + why if why else 'ok'} ({time.monotonic() - t:.0f} s)", flush=True)
            if why:
                failed.append(name)
    finally:
        sh(["bash", LAB, "down"])
    if failed:
        print(f"accel-ppp configurations failed: {', '.join(failed)}")
        sys.exit(1)
    print("every accel-ppp configuration passed")


if __name__ == "__main__":
    main()
