"""The NetworkManager under test in the lab: our plugin staged from its .deb
files, NetworkManager started in the client namespace (a private mount
namespace over the real /usr), connections made with nmcli, and what the
scenarios look at afterwards (routes, resolv.conf, devices, services, the
NetworkManager log). The scenario modules (nm_basic, nm_gnome, nm_faults,
nm_soak) use it; nm_e2e.py runs them."""

import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time

# NetworkManager meets the server behind a router, as users do: with the VPN as
# the default route it must keep a route to the server via the LAN's gateway.
os.environ.setdefault("LAB_TOPOLOGY", "routed")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labvm  # noqa: E402
import gnome_desktop  # noqa: E402
import packages  # noqa: E402  (the .deb files of this release)

ROOT = labvm.ROOT
WORK = tempfile.mkdtemp(prefix="nm-pptp-e2e-")
STAGE = os.path.join(WORK, "stage")
# The nm-env.sh process whose namespaces NetworkManager runs in (start_nm).
env_pid = None


def nm(*cmd, check=True, timeout=120):
    """Run a command inside NetworkManager's mount namespace (and the client netns)."""
    r = subprocess.run(["nsenter", "-t", str(env_pid), "-m", "-n", *cmd], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def stage_plugin():
    """The plugin exactly as users get it: this release's .deb files (built by
    packaging/build-debs.sh, or taken from NM_PPTP_DEBS), unpacked into STAGE
    with dpkg-deb; nm-env.sh lays STAGE/usr over /usr, so every file sits at the
    path the packages install it to."""
    for deb in packages.debs():
        r = subprocess.run(["dpkg-deb", "-x", deb, STAGE], capture_output=True, text=True)
        assert r.returncode == 0, f"dpkg-deb -x {deb}: {r.stderr}"


def start_nm():
    global env_pid
    p = subprocess.Popen(["ip", "netns", "exec", labvm.NS, "unshare", "-m", "--propagation", "private",
                          "bash", os.path.join(labvm.HERE, "nm-env.sh")],
                         env={**os.environ, "STAGE": STAGE, "NM_WORK": os.path.join(WORK, "nm")},
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    env_pid = p.pid
    for _ in range(100):
        if os.path.exists(os.path.join(WORK, "nm", "ready")):
            break
        if p.poll() is not None:
            raise AssertionError(f"nm-env.sh exited: {p.stderr.read()}")
        time.sleep(0.2)
    else:
        raise AssertionError("NetworkManager did not start")
    labvm.lan_up(lambda *args: nm("nmcli", *args))
    return p


def add_vpn(name, password="pass word", extra="", user_key="user"):
    """password=None: not saved ("ask every time"), so an agent must supply it.
    user_key: where the user name goes (COSMIC writes `username`)."""
    items = dict(kv.split("=", 1) for kv in
                 f"gateway={labvm.SERVER},{user_key}=alice,require-mppe-128=yes,lcp-echo-interval=2,lcp-echo-failure=3"
                 .split(","))
    # EXTRA's keys win over those defaults.
    items.update(kv.split("=", 1) for kv in extra.split(",") if kv)
    data = ",".join(f"{k}={v}" for k, v in items.items())
    secrets = ["vpn.secrets", f"password={password}"] if password is not None else []
    if password is None:
        data += ",password-flags=2"
    nm("nmcli", "connection", "add", "type", "vpn", "vpn-type", "pptp", "con-name", name,
       "vpn.data", data, *secrets)
    return connection_uuid(name)


def connection_uuid(name):
    """`name`'s UUID, or "" when there is no such connection."""
    return nm("nmcli", "-g", "connection.uuid", "connection", "show", name, check=False).stdout.strip()


def nm_log_from():
    """Where NetworkManager's log (with the plugin's stderr) ends now."""
    return os.path.getsize(os.path.join(WORK, "nm", "nm.log"))


def nm_log_since(offset):
    with open(os.path.join(WORK, "nm", "nm.log"), errors="replace") as f:
        f.seek(offset)
        return f.read().splitlines()


def routes():
    return nm("ip", "-4", "route").stdout


def resolv():
    return nm("cat", "/etc/resolv.conf").stdout


def vpn_device(name):
    """The tunnel device and address of an active VPN connection."""
    addr = nm("nmcli", "-g", "IP4.ADDRESS", "connection", "show", name).stdout.strip().split("|")[0].strip()
    assert addr, f"{name} has no IPv4 address"
    bare = addr.split("/")[0]
    # A point-to-point address prints as "inet LOCAL peer PEER/32".
    for line in nm("ip", "-o", "-4", "addr", "show").stdout.splitlines():
        if f" inet {bare} " in line or f" inet {addr} " in line:
            return line.split()[1], addr
    raise AssertionError(f"no device carries {addr}")


def wait_gone(*devs, timeout=15):
    """`nmcli connection down` returns before the plugin has stopped and NetworkManager
    has removed the device and its routes: wait for that instead of sleeping."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        links = nm("ip", "-o", "link").stdout
        if not any(f": {d}:" in links for d in devs):
            time.sleep(0.2)  # routes go with the device; give NM a moment to rewrite DNS
            return
        time.sleep(0.1)
    raise AssertionError(f"{devs} still present {timeout} s after going down")


def settles(get, want, what, timeout=5):
    """NetworkManager restores routes and resolv.conf just after the device goes: poll."""
    end = time.monotonic() + timeout
    got = get()
    while got != want and time.monotonic() < end:
        time.sleep(0.1)
        got = get()
    assert got == want, f"{what} not restored within {timeout} s:\nbefore:\n{want}\nafter:\n{got}"


class Terminal:
    """A command on a pseudo-terminal, read and typed into as a user would."""

    def __init__(self, *cmd):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp(cmd[0], list(cmd))
        self.out = b""

    def expect(self, text, timeout, count=1):
        """Waits until `text` has appeared `count` times in all the output so far."""
        end = time.monotonic() + timeout
        while self.out.count(text.encode()) < count:
            left = end - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(f"no {text!r} on the terminal; it shows:\n{self.text()}")

    def _read(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the program closed the terminal
            return False
        self.out += chunk
        return bool(chunk)

    def type(self, text):
        os.write(self.fd, text.encode())

    def finish(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end and self._read(end - time.monotonic()):
            pass
        for _ in range(50):
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.1)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"still running after {timeout} s:\n{self.text()}")

    def text(self):
        # Without the terminal's control sequences (bracketed paste and the like).
        return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", self.out.decode(errors="replace"))


_desktop = None


def desktop():
    """The lab's GNOME session, started for the first scenario that needs it."""
    global _desktop
    if _desktop is None:
        _desktop = gnome_desktop.GnomeDesktop(env_pid, os.path.join(WORK, "gnome"))
    return _desktop


def wait_state(name, want, timeout=60):
    """Polls the connection's activation state; None stands for "not active"."""
    end = time.monotonic() + timeout
    while True:
        got = connection_state(name) or None
        if got == want:
            return
        assert time.monotonic() < end, f"{name} is {got!r}, not {want!r}, after {timeout} s"
        time.sleep(0.3)


def delete_vpns():
    for line in nm("nmcli", "-t", "-f", "UUID,TYPE", "connection", "show").stdout.splitlines():
        uuid, kind = line.split(":", 1)
        if kind == "vpn":
            nm("nmcli", "connection", "delete", uuid)


def router_link(up):
    """The router's link to the servers' network: down is an outage on the
    path (the client's own link stays up, as when an upstream fails)."""
    r = labvm.sh(["ip", "-n", "pptplab-t", "link", "set", "t1", "up" if up else "down"])
    assert r.returncode == 0, r.stderr


def connection_state(name):
    return nm("nmcli", "-g", "GENERAL.STATE", "connection", "show", name, check=False).stdout.strip()


def services():
    """PIDs of running nm-pptp-service processes."""
    return set(int(p) for p in nm("pgrep", "-x", "nm-pptp-service", check=False).stdout.split())


def no_leftovers(dev, routes_before, resolv_before, services_before):
    """Nothing of a VPN that went down is left: its device, its routes, its DNS,
    its service process."""
    wait_gone(dev)
    nothing_left(routes_before, resolv_before, services_before)


def nothing_left(routes_before, resolv_before, services_before):
    """Routes, DNS and the service processes as they were before a connect
    (one that never came up has no device to wait for)."""
    settles(routes, routes_before, "routes")
    settles(resolv, resolv_before, "resolv.conf")
    end = time.monotonic() + 10
    while (left := services() - services_before) and time.monotonic() < end:
        time.sleep(0.2)
    assert not left, f"nm-pptp-service {left} still running"


def until_not_activated(name, limit):
    t = time.monotonic()
    while connection_state(name) == "activated":
        assert time.monotonic() - t < limit, f"{name} still activated after {limit} s"
        time.sleep(0.2)
    return time.monotonic() - t


def up_with(name, persistent=False):
    add_vpn(name)
    if persistent:
        nm("nmcli", "connection", "modify", name, "vpn.persistent", "yes")
    before = (routes(), resolv(), services())
    nm("nmcli", "connection", "up", name)
    dev, addr = vpn_device(name)
    return dev, addr, before


def back_up(name, dev, limit=90):
    """A persistent VPN is activated again on the same device and passes traffic."""
    t = time.monotonic()
    while connection_state(name) != "activated":
        assert time.monotonic() - t < limit, f"{name} not up again within {limit} s"
        time.sleep(0.5)
    dev2, addr = vpn_device(name)
    assert dev2 == dev, f"came back on {dev2}, not {dev}"
    nm("ping", "-c", "2", "-W", "3", "-I", dev, "198.19.0.1")
    return time.monotonic() - t, addr


def routes6():
    return labvm.global_routes6(nm("ip", "-6", "route").stdout)


def restart_nm():
    """NetworkManager again, in the same mount and network namespace, config and
    keyfiles (nm-env.sh's trap ends it by the PID file at the end)."""
    d = os.path.join(WORK, "nm")
    nm("sh", "-c", f"NetworkManager --debug --config={d}/NetworkManager.conf >>{d}/nm.log 2>&1 & "
                   f"echo $! >{d}/nm.pid")
    t = time.monotonic()
    while nm("nmcli", "-t", "general", "status", check=False).returncode != 0:
        assert time.monotonic() - t < 20, "NetworkManager did not come back"
        time.sleep(0.2)
    nm("nmcli", "connection", "up", "lan")


def stop_desktop():
    """Ends the GNOME session, if a scenario started one."""
    if _desktop is not None:
        _desktop.stop()
