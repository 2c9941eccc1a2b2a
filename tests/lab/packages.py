#!/usr/bin/env python3
"""Our Debian packages from install to purge, in clean Debian roots that start
as a user's machine does: NetworkManager with Debian's own network-manager-pptp
and network-manager-pptp-gnome (the C plugin) and PPTP connections made with
it, one with its password in the login keyring. In each root (Debian 12, and
Debian 13 with its own paths):

1. apt replaces the C plugin with ours; the existing connection comes up
   against the lab's real pptpd through that root's own NetworkManager, run in
   the lab's client namespace, and passes traffic; the keyring connection comes
   up with nm-applet as the secret agent and our auth dialog reading the keyring;
2. libnm finds our editor plugin, which loads our GTK 4 and GTK 3 editors;
3. a newer build of ours installs over it: the connections and the keyring's
   password still bring the VPN up;
4. purge: nothing of ours is left (the file list before our install, minus the
   C plugin's files, is the list after the purge); Debian's C plugin installs
   again.

Run as root: `python3 tests/lab/packages.py [bookworm] [trixie]` (both by
default). The packages of the host's release come from NM_PPTP_DEBS or
packaging/build-debs.sh; Debian 13's from `packaging/build-in-chroot.sh trixie
--reuse-target`. The roots are cached by packaging/chroot.sh."""
import glob
import os
import shutil
import subprocess
import sys
import time

os.environ.setdefault("LAB_TOPOLOGY", "routed")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labvm  # noqa: E402

ROOT = labvm.ROOT
PACKAGES = ["network-manager-pptp-rs", "network-manager-pptp-rs-gnome", "pptp-client-rs"]
C_PACKAGES = ["network-manager-pptp", "network-manager-pptp-gnome"]
# What NetworkManager-pptp's editor writes for "Use Point-to-Point encryption (MPPE)".
C_PLUGIN_DATA = ("user=alice, refuse-eap=yes, refuse-pap=yes, refuse-chap=yes, refuse-mschap=yes, "
                 "require-mppe=yes, lcp-echo-failure=5, lcp-echo-interval=30")
KEYRING_LOGIN = "login secret"
# Up to 10 s for the Secret Service to own its name on the session bus.
WAIT_FOR_SECRETS = (
    "i=0; until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus "
    "org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q 'boolean true'; do "
    "i=$((i+1)); [ $i -gt 50 ] && { echo 'gnome-keyring did not own org.freedesktop.secrets in 10 s' >&2; exit 1; }; "
    "sleep 0.2; done")
# Paths that change while a system runs, whoever installs what.
CHURN = ("usr/sbin/policy-rc.d", "proc/", "sys/", "dev/", "run/", "tmp/", "root/", "var/log/", "var/cache/", "var/lib/apt/",
         "var/lib/dpkg/", "var/lib/NetworkManager/", "var/lib/dbus/", "etc/NetworkManager/system-connections/",
         "etc/resolv.conf", "etc/ld.so.cache")


def host_codename():
    with open("/etc/os-release") as f:
        return next(l.split("=", 1)[1].strip() for l in f if l.startswith("VERSION_CODENAME="))


def debs(codename=None):
    """This release's three .deb files, built when not given in NM_PPTP_DEBS."""
    codename = codename or host_codename()
    given = os.environ.get("NM_PPTP_DEBS") if codename == host_codename() else None
    if given:
        out = given
    else:
        cmd = (["bash", "packaging/build-debs.sh"] if codename == host_codename()
               else ["bash", "packaging/build-in-chroot.sh", codename, "--reuse-target"])
        print(f"    (building the {codename} packages: {' '.join(cmd)})", flush=True)
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
        out = os.path.join(ROOT, "target", "debian", codename)
    found = sorted(glob.glob(os.path.join(out, "*.deb")))
    names = sorted(os.path.basename(f).split("_")[0] for f in found)
    assert names == sorted(PACKAGES), f"{out} holds {names}, not the three packages"
    return found


def sh(*cmd, check=True, timeout=300, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return r


class Release:
    def __init__(self, codename):
        self.root = sh("bash", "packaging/chroot.sh", codename, "test", cwd=ROOT).stdout.strip().splitlines()[-1]
        # Packages installed in the root must not start services on the host.
        blocker = os.path.join(self.root, "usr", "sbin", "policy-rc.d")
        with open(blocker, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(blocker, 0o755)
        self.env = None

    # In the root, from the host's namespaces (apt, dpkg: no network needed).
    def chroot(self, *cmd, check=True):
        return sh("chroot", self.root, *cmd, check=check,
                  env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"})

    # In the root as its NetworkManager sees it: the client namespace, its /run.
    def nm(self, *cmd, check=True, timeout=120, stdin=None):
        return sh("nsenter", "-t", str(self.env.pid), "-m", "-n", "-r", "-w",
                  "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", *cmd,
                  check=check, timeout=timeout, input=stdin)

    def start_nm(self):
        self.env = subprocess.Popen(["ip", "netns", "exec", labvm.NS, "unshare", "-m", "--propagation", "private",
                                     "bash", os.path.join(labvm.HERE, "nm-chroot.sh"), self.root],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + 30
        # /run is a tmpfs of that mount namespace: look through the process.
        while not os.path.exists(f"/proc/{self.env.pid}/root/run/ready"):
            if self.env.poll() is not None:
                raise AssertionError(f"nm-chroot.sh exited: {self.env.stderr.read()}")
            assert time.monotonic() < end, "the root's NetworkManager did not start"
            time.sleep(0.2)
        labvm.lan_up(lambda *args: self.nm("nmcli", *args))

    def stop(self):
        if self.env is not None:
            self.env.terminate()
            try:
                self.env.wait(15)
            except subprocess.TimeoutExpired:
                self.env.kill()
                self.env.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def installed(self, pkg):
        r = self.chroot("dpkg-query", "-W", "-f", "${Status} ${Version}", pkg, check=False)
        return r.stdout.split()[-1] if r.stdout.startswith("install ok installed") else None

    def files(self):
        """Every path in the root but those that change as any system runs."""
        out = set()
        for d, dirs, names in os.walk(self.root):
            rel = os.path.relpath(d, self.root)
            rel = "" if rel == "." else rel + "/"
            dirs[:] = [x for x in dirs if not (rel + x + "/").startswith(CHURN) and x != "__pycache__"]
            out.update(rel + n for n in names if not (rel + n).startswith(CHURN))
        return out

    def owned(self, pkgs):
        """The non-directory paths dpkg lists for these installed packages."""
        paths = set()
        for p in pkgs:
            for line in self.chroot("dpkg", "-L", p).stdout.splitlines():
                full = os.path.join(self.root, line.lstrip("/"))
                if line.startswith("/") and not os.path.isdir(full):
                    paths.add(line.lstrip("/"))
        return paths

    def install(self, files):
        d = os.path.join(self.root, "tmp", "debs")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for f in files:
            shutil.copy(f, d)
        return self.chroot("apt-get", "install", "-y", "-q",
                           *[f"/tmp/debs/{os.path.basename(f)}" for f in files])

    def add_c_connections(self):
        """Made through the C plugin, as its editor saves them: PAL with the password
        in the connection, KEYRING with it in the login keyring (agent-owned)."""
        server = labvm.SERVER
        self.nm("nmcli", "connection", "add", "type", "vpn", "vpn-type", "pptp", "con-name", "PAL",
                "vpn.data", f"gateway={server}, {C_PLUGIN_DATA}, password-flags=0",
                "vpn.secrets", f"password={labvm.PASSWORD}")
        self.nm("nmcli", "connection", "add", "type", "vpn", "vpn-type", "pptp", "con-name", "KEYRING",
                "vpn.data", f"gateway={server}, {C_PLUGIN_DATA}, password-flags=1")
        uuid = self.nm("nmcli", "-g", "connection.uuid", "connection", "show", "KEYRING").stdout.strip()
        # libnma's attributes, so the C plugin's auth dialog would find it too.
        self.in_keyring_session(
            f"secret-tool store --label='VPN password secret for KEYRING' connection-uuid {uuid} "
            f"setting-name vpn setting-key password", stdin=labvm.PASSWORD)
        return uuid

    def in_keyring_session(self, command, stdin=None, timeout=120):
        """COMMAND on a session bus with the user's login keyring unlocked (kept in
        /root/.local/share/keyrings, so it outlives the session and upgrades)."""
        # The unlocking daemon forks and its parent returns before the child owns
        # the Secret Service name: a client that asks first gets a second daemon,
        # D-Bus-activated, whose login keyring is locked. So wait for the name.
        script = (f"mkdir -p -m 700 /tmp/xdg && "
                  f"printf %s '{KEYRING_LOGIN}' | gnome-keyring-daemon --unlock --components=secrets >/dev/null && "
                  f"{WAIT_FOR_SECRETS} && {command}")
        return self.nm("env", "XDG_RUNTIME_DIR=/tmp/xdg", "dbus-run-session", "--", "sh", "-c", script,
                       stdin=stdin, timeout=timeout)

    def up_and_ping(self, name, agent=False):
        """Up through this root's NetworkManager. With agent, the password is in the
        keyring only: nm-applet (on Xvfb) is the secret agent and runs our auth
        dialog, which finds it there; no one types anything."""
        t = time.monotonic()
        if agent:
            self.in_keyring_session(
                "xvfb-run -a sh -c '"
                "seen() { grep -c \"nm-applet.*agent registered\" /var/log/nm-lab.log; }; n=$(seen); "
                "nm-applet >/tmp/nm-applet.log 2>&1 & a=$!; i=0; "
                "while [ $(seen) -le $n ]; do i=$((i+1)); "
                "[ $i -gt 150 ] && { echo nm-applet did not register its agent; kill $a; exit 1; }; sleep 0.2; done; "
                f"nmcli --wait 90 connection up {name}; rc=$?; kill $a; exit $rc'", timeout=150)
        else:
            self.nm("nmcli", "--wait", "90", "connection", "up", name, timeout=150)
        took = time.monotonic() - t
        state = self.nm("nmcli", "-g", "GENERAL.STATE", "connection", "show", name).stdout.strip()
        assert state == "activated", f"{name} is {state!r}"
        self.nm("ping", "-c", "2", "-W", "3", labvm.TUNNEL_SERVER)
        service = self.service_program()
        owner = self.chroot("dpkg", "-S", service).stdout.split(":")[0]
        assert owner == "network-manager-pptp-rs", f"{service} belongs to {owner}"
        self.nm("nmcli", "connection", "down", name)
        end = time.monotonic() + 20
        while self.service_pid():
            assert time.monotonic() < end, "the service did not exit after down"
            time.sleep(0.2)
        return took, service

    def service_pid(self):
        r = self.nm("pgrep", "-f", "nm-pptp-service", check=False)
        return r.stdout.split()[0] if r.stdout.strip() else None

    def service_program(self):
        pid = self.service_pid()
        assert pid, "no nm-pptp-service runs"
        return self.nm("readlink", f"/proc/{pid}/exe").stdout.strip()

    def editors_load(self):
        """libnm's list of VPN plugins (what GNOME Settings and nm-connection-editor
        read) gives ours; its editor plugin builds a page in GTK 4 and in GTK 3."""
        loaded = []
        for gtk in ("4.0", "3.0"):
            code = (
                "import gi\n"
                f"gi.require_version('Gtk', '{gtk}'); gi.require_version('NM', '1.0')\n"
                "from gi.repository import Gtk, NM\n"
                "Gtk.init() if Gtk.get_major_version() == 4 else Gtk.init([])\n"
                "info = next(p for p in NM.VpnPluginInfo.list_load() if p.get_name() == 'pptp')\n"
                "c = NM.SimpleConnection.new()\n"
                "s = NM.SettingConnection.new(); s.props.id = 'x'; s.props.uuid = NM.utils_uuid_generate()\n"
                "s.props.type = 'vpn'; c.add_setting(s)\n"
                "v = NM.SettingVpn.new(); v.props.service_type = info.get_service(); c.add_setting(v)\n"
                "w = info.load_editor_plugin().get_editor(c).get_widget()\n"
                "maps = open('/proc/self/maps').read()\n"
                "lib = next(l.split()[-1] for l in maps.splitlines() if 'pptp-editor' in l)\n"
                "print(info.get_filename(), type(w).__name__, lib)\n")
            r = self.nm("xvfb-run", "-a", "python3", "-c", code, timeout=60)
            name_file, widget, lib = r.stdout.split()[-3:]
            for path in (name_file, lib):
                owner = self.chroot("dpkg", "-S", path).stdout.split(":")[0]
                assert owner.startswith("network-manager-pptp-rs"), f"GTK {gtk}: {path} belongs to {owner}"
            loaded.append(f"GTK {gtk[0]}: {widget} from {os.path.basename(lib)}")
        return "; ".join(loaded)


def newer_build(files, work):
    """The same packages one version up, as the next release would be."""
    out = []
    for f in files:
        d = os.path.join(work, os.path.basename(f) + ".d")
        sh("dpkg-deb", "-R", f, d)
        control = os.path.join(d, "DEBIAN", "control")
        with open(control) as fh:
            text = fh.read()
        version = next(l.split(": ", 1)[1] for l in text.splitlines() if l.startswith("Version: "))
        with open(control, "w") as fh:
            fh.write(text.replace(f"Version: {version}", f"Version: {version}+1")
                     .replace(f"(= {version})", f"(= {version}+1)"))
        new = os.path.join(work, os.path.basename(f).replace(f"_{version}_", f"_{version}+1_"))
        sh("dpkg-deb", "-b", "--root-owner-group", d, new)
        out.append(new)
    return out


def run(codename):
    files = debs(codename)
    rel = Release(codename)
    steps = []
    try:
        for p in C_PACKAGES:
            assert rel.installed(p), f"the {codename} root has no {p}"
        c_files = rel.owned(C_PACKAGES)
        rel.start_nm()
        rel.add_c_connections()
        before = rel.files()

        r = rel.install(files)
        for p in PACKAGES:
            assert rel.installed(p), f"{p} is not installed:\n{r.stdout[-2000:]}"
        for p in C_PACKAGES:
            assert not rel.installed(p), f"{p} is still installed after ours"
        ours = rel.owned(PACKAGES)
        steps.append(f"replaced {' and '.join(C_PACKAGES)} ({len(ours)} files of ours)")

        took, service = rel.up_and_ping("PAL")
        steps.append(f"the C plugin's PAL up in {took:.1f} s with {service}, pinged")
        took, _ = rel.up_and_ping("KEYRING", agent=True)
        steps.append(f"KEYRING up in {took:.1f} s: nm-applet ran our auth dialog, which took the password from the keyring")
        steps.append(rel.editors_load())

        work = os.path.join(rel.root, "tmp", "newer")
        os.makedirs(work)
        version = rel.installed(PACKAGES[0])
        rel.install(newer_build(files, work))
        for p in PACKAGES:
            assert rel.installed(p) == f"{version}+1", f"{p} was not upgraded: {rel.installed(p)}"
        names = rel.nm("nmcli", "-g", "NAME", "connection", "show").stdout.split()
        assert {"PAL", "KEYRING"} <= set(names), f"connections after the upgrade: {names}"
        rel.up_and_ping("KEYRING", agent=True)
        steps.append(f"upgraded {version} → {version}+1: PAL and KEYRING kept, KEYRING up from the keyring")

        rel.chroot("apt-get", "purge", "-y", "-q", *PACKAGES)
        for p in PACKAGES:
            assert not rel.installed(p), f"{p} is still installed after the purge"
        after = rel.files()
        left = sorted(after - before)
        assert not left, f"left behind after the purge: {left[:20]}"
        gone = before - after
        assert gone == c_files, (f"the purge changed other files than the C plugin's: "
                                 f"missing {sorted(gone - c_files)[:10]}, kept {sorted(c_files - gone)[:10]}")
        steps.append(f"purged: no file of ours left ({len(before)} files compared)")

        c_debs = sorted(glob.glob(os.path.join(rel.root, "var", "cache", "c-plugin", "*.deb")))
        rel.chroot("apt-get", "install", "-y", "-q",
                   *["/" + os.path.relpath(f, rel.root) for f in c_debs])
        for p in C_PACKAGES:
            assert rel.installed(p), f"{p} did not install again"
        assert rel.files() == before, "reinstalling the C plugin did not restore the files as they were"
        steps.append("Debian's C plugin installed again, its files as before")
    finally:
        rel.stop()
    return steps


def main():
    codenames = sys.argv[1:] or ["bookworm", "trixie"]
    failed = 0
    try:
        labvm.vm()
        for c in codenames:
            print(f"--- packages on {c}", flush=True)
            t = time.monotonic()
            try:
                for s in run(c):
                    print(f"    {s}", flush=True)
                print(f"    ok ({time.monotonic() - t:.0f} s)", flush=True)
            except Exception as e:  # noqa: BLE001
                failed += 1
                print(f"    FAILED ({time.monotonic() - t:.0f} s): {e}", flush=True)
    finally:
        labvm.sh(["bash", labvm.LAB, "down"])
    if failed:
        sys.exit(f"{failed} release(s) failed")
    print("packages: install, connect, upgrade and purge passed")


if __name__ == "__main__":
    main()
