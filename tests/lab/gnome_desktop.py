"""A GNOME session in the lab's NetworkManager namespace: session bus, unlocked
gnome-keyring, GNOME Shell headless (its NetworkAgent answers NetworkManager's
secret requests) and, on demand, GNOME Settings on Xvfb in the same session.
Used by nm_e2e.py's GNOME scenarios (Debian 12's GNOME Shell 43, run headless)."""
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PATH = "/usr/bin:/bin:/usr/sbin:/sbin"


class GnomeDesktop:
    def __init__(self, nm_pid, work):
        self.work = work
        os.makedirs(work, exist_ok=True)
        self.proc = subprocess.Popen(
            ["nsenter", "-t", str(nm_pid), "-m", "-n", "unshare", "-m", "--propagation", "private",
             "bash", os.path.join(HERE, "gnome-session.sh")],
            env={**os.environ, "GS_WORK": work}, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(work, "session.log"), "w"))
        end = time.monotonic() + 60
        while not os.path.exists(os.path.join(work, "ready")):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise AssertionError("GNOME Shell did not start:\n" + self.log())
            time.sleep(0.2)
        self.env = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(work, "env")))
        self.log_start = {}

    def command(self, *cmd, **env):
        """argv running `cmd` inside the session (its namespaces and environment)."""
        return ["nsenter", "-t", str(self.proc.pid), "-m", "-n", "env", "-i", f"PATH={PATH}",
                *[f"{k}={v}" for k, v in {**self.env, **env}.items()], *cmd]

    def run(self, *cmd, check=True, input=None, timeout=60):
        r = subprocess.run(self.command(*cmd), capture_output=True, text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r

    def screenshot(self, name):
        """The Shell's whole screen, through its own screenshot API."""
        path = os.path.join(ROOT, "target", "screenshots", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)
        self.shell_ctl("screenshot", path)
        return path

    def type(self, text):
        """Typed on mutter's virtual keyboard into whatever the Shell focuses,
        then Return. `text` never reaches argv: it goes through stdin."""
        self.shell_ctl("type", "-", input=text)

    def key(self, name):
        self.shell_ctl("key", name)

    def vpn_toggle(self, what="state"):
        """Quick Settings' VPN toggle: "state" returns "on", "off" or "hidden";
        "click" opens the menu and clicks it."""
        return self.shell_ctl("vpn-toggle", what).stdout.strip()

    def shell_ctl(self, *args, input=None):
        return self.run("/usr/bin/python3", os.path.join(HERE, "shell_ctl.py"), *args, input=input)

    def keyring_password(self, uuid):
        """The VPN password GNOME Shell's agent keeps for `uuid`, or None."""
        r = self.run("secret-tool", "lookup", "connection-uuid", uuid, "setting-name", "vpn",
                     "setting-key", "password", check=False)
        return r.stdout if r.returncode == 0 else None

    def mark(self):
        """Remembers where the logs are now, for `new_log` to return only what
        came after."""
        self.log_start = {p: os.path.getsize(p) for p in self.logs()}

    def logs(self):
        return [os.path.join(self.work, n) for n in ("shell.log", "session.log") if
                os.path.exists(os.path.join(self.work, n))]

    def new_log(self):
        out = []
        for p in self.logs():
            with open(p, errors="replace") as f:
                f.seek(self.log_start.get(p, 0))
                out += f.read().splitlines()
        return out

    def log(self):
        return "\n".join(open(p, errors="replace").read()[-3000:] for p in self.logs())

    def stop(self):
        # The session's own shell: its trap ends GNOME Shell, then the bus
        # (and gnome-keyring with it) goes when dbus-run-session sees it exit.
        try:
            os.kill(int(open(os.path.join(self.work, "session.pid")).read()), 15)
            self.proc.wait(15)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
