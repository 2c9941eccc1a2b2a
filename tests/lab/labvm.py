"""The lab every scenario runs in: the server VM (booted by lab.sh with lab.*
options, rebooted, killed), the client network namespace and what is seen
from it (links, routes, ping, a checked 10 MB echo through the tunnel), the
lab's addresses and password. interop.py (pptp-client), lossy.py,
packages.py, the NetworkManager scenarios and the benchmark build on it."""
import json
import os
import re
import subprocess
import textwrap
import time
HERE = os.path.dirname(os.path.abspath(__file__))


ROOT = os.path.dirname(os.path.dirname(HERE))
LAB = os.path.join(HERE, "lab.sh")


NS = "pptplab-c"
STATE = os.environ.get("LAB_STATE", "/run/nm-pptp-lab")


# LAB_TOPOLOGY=routed (lab.sh): the server behind a router, on its own /24.
ROUTED = os.environ.get("LAB_TOPOLOGY") == "routed"
SERVER = "198.18.1.2" if ROUTED else "198.18.0.2"


TUNNEL_SERVER = "198.19.0.1"
PASSWORD = "pass word"  # the lab's chap-secrets has a space in it on purpose


current_vm = None


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def in_ns(cmd, **kw):
    return sh(["ip", "netns", "exec", NS] + cmd, **kw)


def vm(**opts):
    """Boot the VM with these lab.* options unless it already runs with them."""
    global current_vm
    key = tuple(sorted(opts.items()))
    if current_vm == key and os.path.exists(os.path.join(STATE, "qemu.pid")):
        return
    t = time.monotonic()
    r = sh(["bash", LAB, "up"] + [f"{k}={v}" for k, v in opts.items()])
    if r.returncode != 0:
        raise AssertionError(f"lab did not come up:\n{r.stderr}")
    current_vm = key
    print(f"    (VM booted with {opts or 'defaults'} in {time.monotonic() - t:.0f} s)", flush=True)


def reboot_vm(**opts):
    """Boot the server VM again with these lab.* options, keeping the namespaces
    (and NetworkManager in the client's) as they are."""
    global current_vm
    t = time.monotonic()
    r = sh(["bash", LAB, "reboot"] + [f"{k}={v}" for k, v in opts.items()])
    if r.returncode != 0:
        raise AssertionError(f"the VM did not come back:\n{r.stderr}")
    current_vm = tuple(sorted(opts.items()))
    print(f"    (VM rebooted with {opts or 'defaults'} in {time.monotonic() - t:.0f} s)", flush=True)


def reference(runs, **opts):
    """The reference client (pppd 2.4.9 + pptp-linux, `lab.sh ref`) connecting
    RUNS times to the server that is up, in its own VM with these lab.*
    settings: [(result, seconds to Up)], result "up", "up-without-traffic" or
    "failed"."""
    log = os.path.join(STATE, "ref-console.log")
    r = sh(["bash", LAB, "ref", f"runs={runs}"] + [f"{k}={v}" for k, v in opts.items()])
    assert r.returncode == 0, r.stderr
    end = time.monotonic() + 120 + runs * 75
    text = ""
    while time.monotonic() < end:
        with open(log, errors="replace") as f:
            text = f.read()
        if "lab-ref: done" in text:
            break
        if "Kernel panic" in text:
            raise AssertionError("the reference VM's kernel panicked:\n" + text[-1500:])
        time.sleep(2)
    else:
        raise AssertionError("the reference client did not finish:\n" + text[-2000:])
    return [(ok, int(ms) / 1000) for _, ok, ms in re.findall(r"lab-ref: run (\d+) ([\w-]+) (\d+) ms", text)]


def kill_vm():
    global current_vm
    current_vm = None
    with open(os.path.join(STATE, "qemu.pid")) as f:
        pid = int(f.read())
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass  # it already ended (a panicked kernel with panic=-1 exits qemu)


def lan_up(nmcli):
    """A NetworkManager in the client namespace takes c0 as the user's LAN: a manual
    address and the router as gateway and DNS. `nmcli(*args)` runs nmcli where
    that NetworkManager is."""
    nmcli("device", "set", "c0", "managed", "yes")
    nmcli("connection", "add", "type", "ethernet", "ifname", "c0", "con-name", "lan",
          "ipv4.method", "manual", "ipv4.addresses", "198.18.0.1/24", "ipv4.gateway", "198.18.0.254",
          "ipv4.dns", "198.18.0.254", "ipv6.method", "disabled")
    nmcli("connection", "up", "lan")


def server_log(lines=15):
    try:
        with open(os.path.join(STATE, "console.log"), errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def links():
    return in_ns(["ip", "-o", "link"]).stdout


def routes():
    return in_ns(["ip", "-4", "route"]).stdout


def global_routes6(text):
    """`ip -6 route` output less the kernel's own link-local and multicast
    routes, which come and go with interfaces."""
    return "".join(l for l in text.splitlines(True) if not l.startswith(("fe80::", "multicast")))


def routes6():
    return global_routes6(in_ns(["ip", "-6", "route"]).stdout)


def ping(addr):
    r = in_ns(["ping", "-c", "3", "-i", "0.3", "-W", "3", addr])
    assert r.returncode == 0, f"ping {addr} through the tunnel failed:\n{r.stdout}{r.stderr}"


# Sends SIZE random bytes to the echo service and checks what comes back. A
# stall is 60 s without progress either way (socket timeout per call: Python's
# sendall would apply it to the whole transfer, which a slow path exceeds without
# stalling); LIMIT (argv[3], default 120 s) bounds the whole transfer.
ECHO_CHECK = textwrap.dedent("""
    import hashlib, os, socket, sys, threading, time, json
    size = int(sys.argv[2]); data = os.urandom(size)
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 120
    s = socket.create_connection((sys.argv[1], 5001), timeout=60)
    got = hashlib.sha256(); n = [0]; err = []
    def rx():
        try:
            while n[0] < size:
                b = s.recv(65536)
                if not b: break
                got.update(b); n[0] += len(b)
        except OSError as e:
            err.append(f"receive: {e}")
    t0 = time.monotonic(); th = threading.Thread(target=rx); th.start()
    view = memoryview(data); off = 0
    try:
        while off < size and time.monotonic() - t0 < limit:
            off += s.send(view[off:off + 65536])
    except OSError as e:
        err.append(f"send: {e}")
    th.join(max(0, limit - (time.monotonic() - t0))); s.close()
    print(json.dumps({"sent": off, "received": n[0], "same": off == size and got.hexdigest() == hashlib.sha256(data).hexdigest(),
                      "seconds": round(time.monotonic() - t0, 2), "errors": err}))
""")


def echo_10mb(addr):
    r = in_ns(["python3", "-c", ECHO_CHECK, addr, str(10 * 1024 * 1024)], timeout=200)
    assert r.returncode == 0, f"transfer failed: {r.stderr[-1000:]}"
    res = json.loads(r.stdout)
    assert res["received"] == res["sent"] and res["same"], f"10 MB echo mismatch: {res}"
    return res


# Each phase of a connect, by the debug line that starts it.
PHASES = [
    ("control", "send Start-Control-Connection-Request"),
    ("call", "send Outgoing-Call-Request"),
    ("LCP", "sent [LCP ConfReq"),
    ("authentication", "phase=Authenticate"),
    ("CCP", "sent [CCP ConfReq"),
    ("IPCP", "sent [IPCP ConfReq"),
    ("up", "tunnel interface up"),
]
