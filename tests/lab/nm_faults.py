"""NetworkManager scenarios where something breaks: the path goes away, the
plugin, the server or NetworkManager is killed, GRE is blocked, the control
connection reset, the server paused, the LAN re-activated, a stop in every
phase; and the path rows (netem loss, delay, reordering) with a transfer
checked end to end."""

import os
import re
import signal
import subprocess
import threading
import time

import nmlab  # first: it sets the lab topology
import labvm
from nmlab import (
    WORK, add_vpn, back_up, connection_state, nm, nm_log_from, nm_log_since, no_leftovers, resolv,
    restart_nm, router_link, routes, services, settles, until_not_activated, up_with, vpn_device,
    wait_gone,
)


def scenario_path_outage():
    """The router's link to the server goes down for 30 s while the VPN (the
    default route) is up. Without vpn.persistent the VPN fails promptly and
    leaves nothing behind; with it, NetworkManager shows the VPN connecting
    again while the tunnel device stays, and once the path is back the VPN is
    up again on the same device and passes traffic."""
    assert labvm.ROUTED, "needs the routed lab"
    before = routes()
    add_vpn("PALQ")
    nm("nmcli", "connection", "up", "PALQ")
    dev, _ = vpn_device("PALQ")
    t = time.monotonic()
    router_link(False)
    try:
        while connection_state("PALQ") == "activated":
            assert time.monotonic() - t < 30, "still activated 30 s into the outage"
            time.sleep(0.5)
        failed_after = time.monotonic() - t
        wait_gone(dev)
        settles(routes, before, "routes")
    finally:
        router_link(True)
    nm("nmcli", "connection", "delete", "PALQ")

    add_vpn("PALP")
    nm("nmcli", "connection", "modify", "PALP", "vpn.persistent", "yes")
    nm("nmcli", "connection", "up", "PALP")
    dev, addr = vpn_device("PALP")
    t = time.monotonic()
    router_link(False)
    seen_connecting = False
    try:
        while time.monotonic() - t < 30:
            state = connection_state("PALP")
            seen_connecting |= state == "activating"
            assert state in ("activated", "activating"), f"the VPN went {state!r} during the outage"
            assert f": {dev}:" in nm("ip", "-o", "link").stdout, f"{dev} went away during the outage"
            time.sleep(0.5)
    finally:
        router_link(True)
    assert seen_connecting, "NetworkManager never showed the VPN reconnecting"
    back = time.monotonic()
    while connection_state("PALP") != "activated":
        assert time.monotonic() - back < 60, "not up again 60 s after the path came back"
        time.sleep(0.5)
    took = time.monotonic() - back
    dev2, addr2 = vpn_device("PALP")
    assert dev2 == dev, f"reconnected on {dev2}, not {dev}"
    nm("ping", "-c", "2", "-W", "3", "-I", dev, "198.19.0.1")
    nm("nmcli", "connection", "down", "PALP")
    wait_gone(dev)
    settles(routes, before, "routes")
    nm("nmcli", "connection", "delete", "PALP")
    return (f"without persistent: failed {failed_after:.0f} s into the outage, nothing left; "
            f"with persistent: connecting again during the 30 s outage on {dev}, up {took:.0f} s after the "
            f"path came back ({addr} then {addr2}), pinged; nothing left after down")


def scenario_plugin_killed():
    """NetworkManager-CI's rule: the plugin SIGKILLed while up; NetworkManager
    shows the VPN down within 5 s and restores routes and DNS."""
    dev, _, before = up_with("PALK9")
    svc = services() - before[2]
    assert len(svc) == 1, svc
    os.kill(svc.pop(), 9)
    took = until_not_activated("PALK9", 5)
    no_leftovers(dev, *before)
    nm("nmcli", "connection", "delete", "PALK9")
    return f"NetworkManager showed it down {took:.1f} s after the SIGKILL; routes and DNS restored"


def scenario_gre_blocked_midway():
    """The router starts dropping GRE mid-session (TCP 1723 still passes): the
    link's echoes go unanswered and the VPN fails, leaving nothing."""
    dev, _, before = up_with("PALG")
    rule = ("add table ip labgre; add chain ip labgre forward_gre { type filter hook forward priority 0; }; "
            "add rule ip labgre forward_gre ip protocol gre drop")
    r = labvm.sh(["ip", "netns", "exec", "pptplab-t", "nft", rule])
    assert r.returncode == 0, r.stderr
    try:
        took = until_not_activated("PALG", 30)
        no_leftovers(dev, *before)
    finally:
        labvm.sh(["ip", "netns", "exec", "pptplab-t", "nft", "delete table ip labgre"])
    nm("nmcli", "connection", "delete", "PALG")
    return f"failed {took:.0f} s after GRE was blocked; nothing left"


def scenario_control_connection_reset():
    """The router answers TCP 1723 with resets (both ways) while two VPNs are
    up, one with persistent: each control connection dies at its next message
    (PPTP's 60 s echo at the latest). Without persistent the VPN fails and
    leaves nothing; with it, "connecting" until the router lets 1723 through
    again, then up on the same device."""
    try:
        dev_p, _, before_p = up_with("PALRP", persistent=True)
        dev_n, _, _ = up_with("PALRN")
        rule = ("add table ip labrst; add chain ip labrst forward_rst { type filter hook forward priority 0; }; "
                "add rule ip labrst forward_rst tcp dport 1723 reject with tcp reset; "
                "add rule ip labrst forward_rst tcp sport 1723 reject with tcp reset")
        r = labvm.sh(["ip", "netns", "exec", "pptplab-t", "nft", rule])
        assert r.returncode == 0, r.stderr
        t = time.monotonic()
        try:
            failed_after = until_not_activated("PALRN", 90)
            end = time.monotonic() + 90
            while connection_state("PALRP") == "activated":
                assert time.monotonic() < end, "the persistent VPN never noticed the reset"
                time.sleep(0.2)
            lost_after = time.monotonic() - t
            assert connection_state("PALRP") == "activating", connection_state("PALRP")
        finally:
            labvm.sh(["ip", "netns", "exec", "pptplab-t", "nft", "delete table ip labrst"])
        took, _ = back_up("PALRP", dev_p)
        nm("nmcli", "connection", "down", "PALRP")
        no_leftovers(dev_p, before_p[0], before_p[1], before_p[2])
        wait_gone(dev_n)
    finally:
        # Whatever failed, the next scenario starts with neither VPN.
        for name in ("PALRP", "PALRN"):
            nm("nmcli", "connection", "delete", name, check=False)
    return (f"without persistent: failed {failed_after:.0f} s after the resets began; with persistent: "
            f"lost {lost_after:.0f} s in, connecting, up on {dev_p} {took:.0f} s after 1723 passed again; "
            f"nothing left")


def pause_vm(seconds):
    with open(os.path.join(labvm.STATE, "qemu.pid")) as f:
        pid = int(f.read())
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)


def scenario_server_paused():
    """The server VM stopped (SIGSTOP) for 20 s: without persistent the VPN fails
    and nothing is left; with it, the VPN is up again after the server resumes."""
    dev, _, before = up_with("PALZ")
    t = time.monotonic()
    threading.Thread(target=pause_vm, args=(20,), daemon=True).start()
    took = until_not_activated("PALZ", 20)
    no_leftovers(dev, *before)
    time.sleep(max(0.0, 21 - (time.monotonic() - t)))
    nm("nmcli", "connection", "delete", "PALZ")
    dev, _, before = up_with("PALY", persistent=True)
    pause_vm(20)
    again, addr = back_up("PALY", dev)
    nm("nmcli", "connection", "down", "PALY")
    no_leftovers(dev, *before)
    nm("nmcli", "connection", "delete", "PALY")
    return (f"without persistent: failed {took:.0f} s into the pause, nothing left; with persistent: "
            f"up again ({addr}) {again:.0f} s after the server resumed, pinged; nothing left after down")


def scenario_lan_reactivated():
    """NetworkManager re-activates the physical connection while the VPN is up
    (as after a Wi-Fi roam or `nmcli connection up` on it): without persistent
    the VPN goes down with it and nothing is left; with it (can-persist) the VPN
    is up again on the same device."""
    dev, _, before = up_with("PALL")
    nm("nmcli", "connection", "up", "lan")
    took = until_not_activated("PALL", 15)
    no_leftovers(dev, *before)
    nm("nmcli", "connection", "delete", "PALL")
    dev, _, before = up_with("PALM", persistent=True)
    nm("nmcli", "connection", "up", "lan")
    again, addr = back_up("PALM", dev)
    nm("nmcli", "connection", "down", "PALM")
    no_leftovers(dev, *before)
    nm("nmcli", "connection", "delete", "PALM")
    return (f"without persistent: down {took:.1f} s after the LAN went, nothing left; with persistent: "
            f"activated {again:.1f} s later on {dev} ({addr}), pinged; nothing left after down")


# The path's faults, server -> client from the VM's own netem and client ->
# server dropped by the router: (name, netem, % the router drops, bytes moved
# each way). At 20 % loss each way (36 % of round trips lose the segment or
# its ack) TCP itself stalls for over a minute: straight to the VM, without the
# tunnel, 2 MB did not get through in 125 s. That row (size 0) pings instead:
# the VPN must stay up for 40 s of it and carry what the path carries (0.8 x
# 0.8 of the echoes), counting 10 missed LCP echoes, not 3, as dead (3 in a
# row go missing every ~40 s at that rate).
TRANSFER = 20 * 1024 * 1024


NETEM_ROWS = [
    ("loss1", "loss,1%", 1, TRANSFER),
    ("loss5", "loss,5%", 5, TRANSFER),
    ("loss20", "loss,20%", 20, 0),
    ("reorder", "delay,10ms,reorder,25%,50%", 0, TRANSFER),
    ("duplicate", "duplicate,5%", 0, TRANSFER),
    ("delay200", "delay,200ms", 0, TRANSFER),
]


def netem_row(row, stateful):
    """An echo each way through the VPN on a faulty path (20 MB but for the
    20 % row): every byte back in order (SHA-256), throughput recorded,
    nothing left after down."""
    _, netem, drop, size = next(r for r in NETEM_ROWS if r[0] == row)
    opts = {"netem": netem}
    if stateful:
        opts["mppe"] = "128-stateful"
    labvm.reboot_vm(**opts)
    rule = ("add table ip labloss; add chain ip labloss lossy { type filter hook forward priority 0; }; "
            f"add rule ip labloss lossy ip daddr {labvm.SERVER} numgen random mod 100 < {drop} drop")
    if drop:
        r = labvm.sh(["ip", "netns", "exec", "pptplab-t", "nft", rule])
        assert r.returncode == 0, r.stderr
    name = f"PAL-{row}"
    try:
        extra = ["mppe-stateful=yes"] if stateful else []
        if drop >= 20:
            extra.append("lcp-echo-failure=10")
        add_vpn(name, extra=",".join(extra))
        before = (routes(), resolv(), services())
        t = time.monotonic()
        nm("nmcli", "--wait", "90", "connection", "up", name, timeout=120)
        up_after = time.monotonic() - t
        dev, _ = vpn_device(name)
        if not size:
            r = nm("ping", "-q", "-c", "200", "-i", "0.2", "-W", "2", "-I", dev, labvm.TUNNEL_SERVER,
                   check=False, timeout=120)
            got = int(re.search(r"(\d+) received", r.stdout).group(1))
            assert got >= 90, f"{got} of 200 echoes answered (the path passes ~128):\n{r.stdout}"
            assert connection_state(name) == "activated", connection_state(name)
            detail = f"up through 40 s of pings, {got} of 200 answered (the path alone: ~128)"
        else:
            r = nm("python3", "-c", labvm.ECHO_CHECK, labvm.TUNNEL_SERVER, str(size), "1500", timeout=1600)
            res = __import__("json").loads(r.stdout)
            assert res["received"] == res["sent"] and res["same"], f"echo mismatch: {res}"
            rate = 2 * size / res["seconds"] / 1e6
            detail = (f"{size / 2**20:g} MiB each way in {res['seconds']} s ({rate:.2f} MB/s both ways), "
                      "checksums equal")
        nm("nmcli", "connection", "down", name)
        no_leftovers(dev, *before)
        nm("nmcli", "connection", "delete", name)
    finally:
        if drop:
            labvm.sh(["ip", "netns", "exec", "pptplab-t", "nft", "delete table ip labloss"])
        labvm.reboot_vm()
    mode = "stateful" if stateful else "stateless"
    return f"{netem} (router drops {drop}%), {mode}: up in {up_after:.1f} s; {detail}; nothing left"


def netem_scenarios():
    """Every row in both MPPE modes: `nm_e2e.py netem` (README's fault-matrix
    command); README's Faults section has the figures."""
    out = []
    for row, *_ in NETEM_ROWS:
        for stateful in (False, True):
            def s(row=row, stateful=stateful):
                return netem_row(row, stateful)
            s.__name__ = f"scenario_netem_{row}_{'stateful' if stateful else 'stateless'}"
            out.append(s)
    return out


def stop_in_every_phase(how):
    """For each phase of a connect (labvm.PHASES, seen in the plugin's debug
    log), stop it the moment it begins: `nmcli connection down` (NetworkManager's
    Disconnect) or SIGTERM to the plugin. The activation fails, the plugin
    exits, nothing is left; returns how long each stop took."""
    add_vpn("PAL-ph")
    before = (routes(), resolv(), services())
    links_before = nm("ip", "-o", "link").stdout
    took = []
    for phase, marker in labvm.PHASES:
        start = nm_log_from()
        up = subprocess.Popen(["nsenter", "-t", str(nmlab.env_pid), "-m", "-n", "nmcli", "--wait", "60",
                               "connection", "up", "PAL-ph"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        end = time.monotonic() + 40
        while not any(marker in l for l in nm_log_since(start)):
            assert time.monotonic() < end and up.poll() is None, f"{phase}: never reached"
            time.sleep(0.01)
        t = time.monotonic()
        if how == "disconnect":
            nm("nmcli", "connection", "down", "PAL-ph", check=False)
        else:
            svc = services() - before[2]
            assert len(svc) == 1, svc
            os.kill(svc.pop(), signal.SIGTERM)
        out, _ = up.communicate(timeout=30)
        if phase != "up":
            assert up.returncode != 0, f"{phase}: activation succeeded after the stop: {out}"
        end = time.monotonic() + 10
        while services() - before[2] and time.monotonic() < end:
            time.sleep(0.1)
        assert not services() - before[2], f"{phase}: plugin still running 10 s after the stop"
        took.append(f"{phase} {time.monotonic() - t:.1f} s")
        assert connection_state("PAL-ph") in ("", "deactivated"), connection_state("PAL-ph")
        settles(lambda: nm("ip", "-o", "link").stdout, links_before, f"{phase}: interfaces")
        settles(routes, before[0], f"{phase}: routes")
        settles(resolv, before[1], f"{phase}: resolv.conf")
    nm("nmcli", "connection", "delete", "PAL-ph")
    return took


def scenario_stop_in_every_phase():
    """Disconnect and SIGTERM in every phase (control, call, LCP,
    authentication, CCP, IPCP, up), the server's answers delayed 400 ms so
    each phase lasts."""
    labvm.reboot_vm(netem="delay,400ms")
    # The phases show in the plugin's debug log, which NetworkManager asks of
    # it (NM_VPN_LOG_LEVEL=7) only at its own TRACE level for VPN_PLUGIN.
    logging = nm("nmcli", "-t", "general", "logging").stdout.strip().split(":", 1)
    traced = [d for d in logging[1].split(",") if d != "VPN_PLUGIN"] + ["VPN_PLUGIN:TRACE"]
    nm("nmcli", "general", "logging", "level", logging[0], "domains", ",".join(traced))
    try:
        down = stop_in_every_phase("disconnect")
        term = stop_in_every_phase("sigterm")
    finally:
        nm("nmcli", "general", "logging", "level", logging[0], "domains", logging[1])
        labvm.reboot_vm()
    return ("plugin gone and nothing left after Disconnect in " + ", ".join(down)
            + "; after SIGTERM in " + ", ".join(term))


def scenario_server_killed():
    before = routes()
    add_vpn("PALK")
    nm("nmcli", "connection", "up", "PALK")
    dev, _ = vpn_device("PALK")
    t = time.monotonic()
    labvm.kill_vm()
    while time.monotonic() - t < 60:
        state = nm("nmcli", "-g", "GENERAL.STATE", "connection", "show", "PALK", check=False).stdout.strip()
        if state != "activated":
            break
        time.sleep(0.5)
    else:
        raise AssertionError("still activated 60 s after the server died")
    took = time.monotonic() - t
    wait_gone(dev)
    settles(routes, before, "routes")
    return f"NetworkManager saw the VPN go down {took:.0f} s after the VM was killed; routes restored"


def scenario_networkmanager_killed():
    """NetworkManager dies with the VPN up (SIGKILL: no Disconnect ever comes). The
    service must notice on the bus, take the tunnel down and exit. NetworkManager is
    started again afterwards, in the same private world."""
    add_vpn("PALN")
    nm("nmcli", "connection", "up", "PALN")
    dev, _ = vpn_device("PALN")
    # The newest: the service of an earlier scenario may still be on its way out.
    svc = int(nm("pgrep", "-n", "-x", "nm-pptp-service").stdout.strip())
    with open(os.path.join(WORK, "nm", "nm.pid")) as f:
        os.kill(int(f.read()), 9)
    t = time.monotonic()
    took = None
    while time.monotonic() - t < 10:
        links = nm("ip", "-o", "link").stdout
        if not os.path.exists(f"/proc/{svc}") and f": {dev}:" not in links:
            took = time.monotonic() - t
            break
        time.sleep(0.2)
    if took is None:
        raise AssertionError(f"10 s after NetworkManager was killed: service alive={os.path.exists(f'/proc/{svc}')}, "
                             f"links:\n{nm('ip', '-o', 'link').stdout}")
    restart_nm()
    return f"service exited and {dev} was gone {took:.1f} s after NetworkManager was killed"
