#!/usr/bin/env python3
"""The data-plane benchmark: the bare veth link, boringtun (userspace WireGuard) and
our PPTP tunnel (pptp-client against pptp-testpeer) between the same two network
namespaces, in one run, on one machine.

    python3 bench/run.py            # full run (about 6 minutes), writes bench/results/
    python3 bench/run.py --smoke    # a few seconds per tunnel: does each pass traffic?

Run as root. Needs iperf3, wireguard-tools and boringtun-cli (installed with cargo
into /var/cache/nm-pptp-bench when missing). Only addresses inside the two
namespaces it creates are used; every process it starts is ended by its PID.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NS_A, NS_B = "pptpbench-a", "pptpbench-b"
A_IP, B_IP = "198.18.10.1", "198.18.10.2"
WG_A, WG_B = "10.99.0.1", "10.99.0.2"
PPTP_SERVER_TUN, PPTP_CLIENT_TUN = "192.168.99.1", "192.168.99.2"
BORINGTUN_VERSION = "0.7.1"
BORINGTUN_ROOT = "/var/cache/nm-pptp-bench/boringtun"
BORINGTUN = os.path.join(BORINGTUN_ROOT, "bin", "boringtun-cli")
USER, SECRET = "bench", "bench pass"
CLK_TCK = os.sysconf("SC_CLK_TCK")

started = []  # Popen objects, ended by PID on exit


def sh(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r


def ns(name, cmd, **kw):
    return sh(["ip", "netns", "exec", name] + cmd, **kw)


def spawn(name, cmd, **kw):
    p = subprocess.Popen(["ip", "netns", "exec", name] + cmd, **kw)
    started.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=5):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cleanup():
    for p in reversed(started):
        stop(p)
    for n in (NS_A, NS_B):
        sh(["ip", "netns", "del", n], check=False)


def topology():
    cleanup()
    for n in (NS_A, NS_B):
        sh(["ip", "netns", "add", n])
        ns(n, ["ip", "link", "set", "lo", "up"])
    sh(["ip", "link", "add", "bencha", "netns", NS_A, "type", "veth", "peer", "name", "benchb", "netns", NS_B])
    ns(NS_A, ["ip", "addr", "add", f"{A_IP}/24", "dev", "bencha"])
    ns(NS_B, ["ip", "addr", "add", f"{B_IP}/24", "dev", "benchb"])
    ns(NS_A, ["ip", "link", "set", "bencha", "up"])
    ns(NS_B, ["ip", "link", "set", "benchb", "up"])


def build():
    print("building release binaries", flush=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "pptp-client", "--bins"], cwd=ROOT, check=True)
    if not os.path.exists(BORINGTUN):
        print(f"installing boringtun-cli {BORINGTUN_VERSION} into {BORINGTUN_ROOT}", flush=True)
        subprocess.run(["cargo", "install", "--locked", "boringtun-cli", "--version", BORINGTUN_VERSION,
                        "--root", BORINGTUN_ROOT], check=True)
    for tool in ("iperf3", "wg", "ping"):
        if not shutil.which(tool):
            raise RuntimeError(f"{tool} is missing (tests/install-deps.sh installs it)")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def wait_for(cond, what, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not happen within {timeout} s")


class Tunnel:
    """Something between NS_A and NS_B; `target` is B's address through it."""
    name = ""
    target = ""
    pids = ()

    def up(self):
        pass

    def down(self):
        pass


class Bare(Tunnel):
    name = "bare veth"
    target = B_IP


class Boringtun(Tunnel):
    name = "boringtun"
    target = WG_B

    def up(self):
        self.work = tempfile.mkdtemp(prefix="bench-wg-")
        keys = {}
        for side in "ab":
            priv = sh(["wg", "genkey"]).stdout.strip()
            pub = sh(["wg", "pubkey"], input=priv).stdout.strip()
            keys[side] = (priv, pub)
        self.procs = []
        for side, n, addr, peer_side, endpoint in (
                ("a", NS_A, WG_A, "b", f"{B_IP}:51820"), ("b", NS_B, WG_B, "a", None)):
            env = {**os.environ, "WG_SUDO": "1"}
            p = spawn(n, [BORINGTUN, "--foreground", "--disable-drop-privileges", "wg0"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            self.procs.append(p)
            wait_for(lambda: ns(n, ["ip", "link", "show", "wg0"], check=False).returncode == 0, "boringtun's wg0")
            conf = os.path.join(self.work, f"{side}.conf")
            with open(conf, "w") as f:
                f.write(f"[Interface]\nPrivateKey = {keys[side][0]}\n")
                if side == "b":
                    f.write("ListenPort = 51820\n")
                f.write(f"[Peer]\nPublicKey = {keys[peer_side][1]}\nAllowedIPs = 10.99.0.0/24\n")
                if endpoint:
                    f.write(f"Endpoint = {endpoint}\n")
            os.chmod(conf, 0o600)
            ns(n, ["wg", "setconf", "wg0", conf])
            ns(n, ["ip", "addr", "add", f"{addr}/24", "dev", "wg0"])
            ns(n, ["ip", "link", "set", "wg0", "up"])
        self.pids = [p.pid for p in self.procs]
        wait_for(lambda: ns(NS_A, ["ping", "-c", "1", "-W", "1", WG_B], check=False).returncode == 0,
                 "a ping through boringtun")

    def down(self):
        for p in self.procs:
            stop(p)
        shutil.rmtree(self.work, ignore_errors=True)


class Pptp(Tunnel):
    target = PPTP_SERVER_TUN

    def __init__(self, mppe):
        self.mppe = mppe  # "128", "128-stateful" or "off"
        self.name = {"128": "ours, MPPE-128 stateless", "128-stateful": "ours, MPPE-128 stateful",
                     "off": "ours, no MPPE"}[mppe]

    def start_peer(self, calls=None):
        self.work = tempfile.mkdtemp(prefix="bench-pptp-")
        with open(os.path.join(self.work, "chap-secrets"), "w") as f:
            f.write(f'{USER} * "{SECRET}" *\n')
        os.chmod(os.path.join(self.work, "chap-secrets"), 0o600)
        cmd = [os.path.join(ROOT, "target/release/pptp-testpeer"), "--listen", B_IP, "--ppp-dir", self.work,
               "--user", USER, "--mppe", self.mppe, "--ifname", "pptps0", "--local", PPTP_SERVER_TUN,
               "--assign", PPTP_CLIENT_TUN]
        if calls:
            cmd += ["--calls", str(calls)]
        self.peer = spawn(NS_B, cmd, stdout=subprocess.DEVNULL)
        wait_for(lambda: ":1723 " in ns(NS_B, ["ss", "-ltn"]).stdout, "pptp-testpeer listening")

    def start_client(self):
        """Starts pptp-client; returns (process, seconds from start to its up event)."""
        mppe = {"128": ["--mppe", "128"], "128-stateful": ["--mppe", "128", "--mppe-stateful"],
                "off": ["--mppe", "off"]}[self.mppe]
        t = time.monotonic()
        p = spawn(NS_A, [os.path.join(ROOT, "target/release/pptp-client"), "up", "--server", B_IP, "--user", USER,
                         "--password-stdin", "--ifname", "pptpc0", "--no-host-route", "--events", "json"] + mppe,
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        p.stdin.write(SECRET + "\n")
        p.stdin.close()
        for line in p.stdout:
            ev = json.loads(line)
            if ev.get("event") == "up":
                return p, time.monotonic() - t, ev
            if ev.get("event") == "down":
                raise RuntimeError(f"pptp-client went down: {ev}")
        raise RuntimeError(f"pptp-client exited ({p.wait()}) before coming up")

    def up(self):
        self.start_peer()
        self.client, _, ev = self.start_client()
        want = {"128": "128-stateless", "128-stateful": "128-stateful", "off": "off"}[self.mppe]
        if ev.get("mppe") != want:
            raise RuntimeError(f"{self.name}: negotiated MPPE {ev.get('mppe')}, wanted {want}")
        self.pids = [self.client.pid, self.peer.pid]

    def down(self):
        stop(self.client)
        stop(self.peer)
        shutil.rmtree(self.work, ignore_errors=True)


def iperf(t, seconds, reverse=False, streams=1):
    cmd = ["iperf3", "-c", t.target, "-t", str(seconds), "-J", "-P", str(streams)]
    if reverse:
        cmd.append("-R")
    cpu0 = sum(cpu_seconds(p) for p in t.pids)
    r = ns(NS_A, cmd, timeout=seconds + 30)
    cpu1 = sum(cpu_seconds(p) for p in t.pids)
    end = json.loads(r.stdout)["end"]
    received = end["sum_received"]
    return {
        "mbit_s": round(received["bits_per_second"] / 1e6, 1),
        "bytes": received["bytes"],
        "retransmits": end.get("sum_sent", {}).get("retransmits"),
        "tunnel_cpu_s": round(cpu1 - cpu0, 3),
        "cpu_s_per_gb": round((cpu1 - cpu0) / (received["bytes"] / 1e9), 3) if t.pids else None,
    }


def ping(t, count):
    r = ns(NS_A, ["ping", "-c", str(count), "-i", "0.01", "-W", "1", t.target], check=False,
           timeout=count * 0.05 + 30)
    times = [float(x) for x in re.findall(r"time=([0-9.]+) ms", r.stdout)]
    if not times:
        raise RuntimeError(f"no ping replies through {t.name}: {r.stdout}{r.stderr}")
    return {"median_ms": round(statistics.median(times), 4), "received": len(times), "sent": count}


def measure(t, smoke):
    print(f"== {t.name}", flush=True)
    t.up()
    try:
        iperf_server = spawn(NS_B, ["iperf3", "-s"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: ":5201 " in ns(NS_B, ["ss", "-ltn"]).stdout, "iperf3 -s")
        res = {}
        runs = [("tcp_1_up", False, 1)] if smoke else [
            ("tcp_1_up", False, 1), ("tcp_1_down", True, 1), ("tcp_4_up", False, 4), ("tcp_4_down", True, 4)]
        for key, rev, streams in runs:
            res[key] = iperf(t, 2 if smoke else 10, rev, streams)
            print(f"   {key}: {res[key]['mbit_s']} Mbit/s, tunnel CPU {res[key]['cpu_s_per_gb']} s/GB", flush=True)
            if res[key]["bytes"] <= 0:
                raise RuntimeError(f"no traffic through {t.name}")
        res["ping"] = ping(t, 20 if smoke else 1000)
        print(f"   ping: median {res['ping']['median_ms']} ms ({res['ping']['received']}/{res['ping']['sent']})",
              flush=True)
        if t.pids:
            res["peak_rss_kib"] = {str(i): peak_rss_kib(p) for i, p in enumerate(t.pids)}
        stop(iperf_server)
        return res
    finally:
        t.down()


def setup_times(runs):
    t = Pptp("128")
    t.start_peer()
    times = []
    try:
        for _ in range(runs):
            p, took, _ = t.start_client()
            times.append(took)
            stop(p)
    finally:
        stop(t.peer)
        shutil.rmtree(t.work, ignore_errors=True)
    return {"median_ms": round(statistics.median(times) * 1000, 2), "runs": runs,
            "all_ms": [round(x * 1000, 2) for x in times]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="a few seconds per tunnel; check traffic passes")
    ap.add_argument("--out", help="results file (default bench/results/<date>.json; none with --smoke)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    build()
    topology()
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count(),
                    "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
                                "?")},
        "smoke": args.smoke,
        "tunnels": {},
    }
    try:
        tunnels = [Bare(), Boringtun(), Pptp("128"), Pptp("128-stateful"), Pptp("off")]
        for t in tunnels:
            results["tunnels"][t.name] = measure(t, args.smoke)
        results["setup"] = setup_times(3 if args.smoke else 20)
        print(f"== setup time against pptp-testpeer: median {results['setup']['median_ms']} ms", flush=True)
    finally:
        cleanup()
    summarize(results)
    out = args.out or (None if args.smoke else os.path.join(
        ROOT, "bench", "results", results["date"][:10] + ".json"))
    if out:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        print(f"results written to {out}")


def summarize(r):
    tun = r["tunnels"]
    bare, bt, ours = tun["bare veth"], tun["boringtun"], tun["ours, MPPE-128 stateless"]
    base = bare["ping"]["median_ms"]
    for name, t in tun.items():
        t["added_latency_ms"] = round(t["ping"]["median_ms"] - base, 4)
    r["ratios"] = {
        "throughput_1_stream_ours_over_boringtun": round(ours["tcp_1_up"]["mbit_s"] / bt["tcp_1_up"]["mbit_s"], 3),
        "throughput_1_stream_ours_over_bare": round(ours["tcp_1_up"]["mbit_s"] / bare["tcp_1_up"]["mbit_s"], 3),
        "added_latency_ours_over_boringtun": round(ours["added_latency_ms"] / bt["added_latency_ms"], 3)
        if bt["added_latency_ms"] > 0 else None,
        "cpu_per_gb_ours_over_boringtun": round(ours["tcp_1_up"]["cpu_s_per_gb"] / bt["tcp_1_up"]["cpu_s_per_gb"], 3),
    }
    cols = ["tcp_1_up", "tcp_1_down", "tcp_4_up", "tcp_4_down"]
    print()
    print(f"{'tunnel':28} " + " ".join(f"{c:>11}" for c in cols) + f" {'+ping ms':>9} {'CPU s/GB':>9} {'RSS KiB':>8}")
    for name, t in tun.items():
        mb = " ".join(f"{t[c]['mbit_s']:>11}" if c in t else f"{'-':>11}" for c in cols)
        cpu = t["tcp_1_up"]["cpu_s_per_gb"]
        rss = t.get("peak_rss_kib", {}).get("0", "-")
        print(f"{name:28} {mb} {t['added_latency_ms']:>9} {cpu if cpu is not None else '-':>9} {rss:>8}")
    print(f"setup (median of {r['setup']['runs']}): {r['setup']['median_ms']} ms")
    print("ratios:", json.dumps(r["ratios"]))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        cleanup()
        sys.exit(130)
