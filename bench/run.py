#!/usr/bin/env python3
"""The data-plane benchmark: the bare veth link, boringtun (userspace WireGuard),
OpenVPN 2.6 (userspace, AES-256-GCM) and our PPTP tunnel (pptp-client against
pptp-testpeer) between the same two network namespaces, in one run, on one
machine; then 1, 4 and 16 of our tunnels at once, and the setup time.

    python3 bench/run.py            # full run (about 8 minutes), writes bench/results/
    python3 bench/run.py --smoke    # a few seconds per tunnel: does each pass traffic?

Run as root. Needs iperf3, wireguard-tools, openvpn, openssl and boringtun-cli
(installed with cargo into /var/cache/nm-pptp-bench when missing). Only addresses
inside the two namespaces it creates are used; every process it starts is ended
by its PID.
"""
import argparse
import datetime
import json
import math
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
OVPN_A, OVPN_B = "10.98.0.2", "10.98.0.1"
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
    for tool in ("iperf3", "wg", "ping", "openvpn", "openssl"):
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
    """Something between NS_A and NS_B; `target` is B's address through it.
    `up` leaves what it started in `procs` and its files in `work`, which
    `down` stops and removes."""
    name = ""
    target = ""
    pids = ()
    procs = ()
    work = None

    def up(self):
        pass

    def down(self):
        for p in self.procs:
            stop(p)
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)


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


class OpenVpn(Tunnel):
    """OpenVPN 2.6 in userspace (no data-channel offload), UDP, AES-256-GCM, a
    point-to-point TLS pair with certificates from a throwaway CA made here."""
    name = "OpenVPN"
    target = OVPN_B

    def pki(self):
        def req(name, ext=None):
            key, cert = os.path.join(self.work, name + ".key"), os.path.join(self.work, name + ".crt")
            if ext is None:
                sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN=bench-{name}"])
                return
            csr, extfile = os.path.join(self.work, name + ".csr"), os.path.join(self.work, name + ".ext")
            with open(extfile, "w") as f:
                f.write(ext)
            sh(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", csr, "-subj", f"/CN=bench-{name}"])
            sh(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(self.work, "ca.crt"),
                "-CAkey", os.path.join(self.work, "ca.key"), "-CAcreateserial", "-days", "2",
                "-extfile", extfile, "-out", cert])
        req("ca")
        req("server", "keyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth\n")
        req("client", "keyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=clientAuth\n")

    def up(self):
        self.work = tempfile.mkdtemp(prefix="bench-ovpn-")
        self.pki()
        common = ["openvpn", "--dev", "tun", "--proto", "udp", "--disable-dco", "--data-ciphers", "AES-256-GCM",
                  "--ca", os.path.join(self.work, "ca.crt"), "--verb", "1", "--ping", "10"]
        w = lambda n: os.path.join(self.work, n)  # noqa: E731
        server = common + ["--local", B_IP, "--lport", "1194", "--tls-server", "--dh", "none",
                           "--cert", w("server.crt"), "--key", w("server.key"), "--ifconfig", OVPN_B, OVPN_A]
        client = common + ["--remote", B_IP, "1194", "--nobind", "--tls-client", "--remote-cert-tls", "server",
                           "--cert", w("client.crt"), "--key", w("client.key"), "--ifconfig", OVPN_A, OVPN_B]
        self.procs = [spawn(NS_B, server, stdout=subprocess.DEVNULL),
                      spawn(NS_A, client, stdout=subprocess.DEVNULL)]
        self.pids = [p.pid for p in self.procs]
        wait_for(lambda: ns(NS_A, ["ping", "-c", "1", "-W", "1", OVPN_B], check=False).returncode == 0,
                 "a ping through OpenVPN", timeout=30)
        for p in self.procs:
            if p.poll() is not None:
                raise RuntimeError(f"openvpn exited ({p.returncode})")


class Pptp(Tunnel):
    target = PPTP_SERVER_TUN

    def __init__(self, mppe):
        self.mppe = mppe  # "128", "128-stateful" or "off"
        self.name = {"128": "ours, MPPE-128 stateless", "128-stateful": "ours, MPPE-128 stateful",
                     "off": "ours, no MPPE"}[mppe]

    def start_peer(self, calls=None, parallel=1):
        self.work = tempfile.mkdtemp(prefix="bench-pptp-")
        with open(os.path.join(self.work, "chap-secrets"), "w") as f:
            f.write(f'{USER} * "{SECRET}" *\n')
        os.chmod(os.path.join(self.work, "chap-secrets"), 0o600)
        cmd = [os.path.join(ROOT, "target/release/pptp-testpeer"), "--listen", B_IP, "--ppp-dir", self.work,
               "--user", USER, "--mppe", self.mppe, "--ifname", "pptps0", "--local", PPTP_SERVER_TUN,
               "--assign", PPTP_CLIENT_TUN]
        if calls:
            cmd += ["--calls", str(calls)]
        if parallel > 1:
            cmd += ["--parallel", str(parallel)]
        self.peer = spawn(NS_B, cmd, stdout=subprocess.DEVNULL)
        wait_for(lambda: ":1723 " in ns(NS_B, ["ss", "-ltn"]).stdout, "pptp-testpeer listening")

    def start_client(self, ifname="pptpc0"):
        """Starts pptp-client; returns (process, seconds from start to its up event, the event)."""
        mppe = {"128": ["--mppe", "128"], "128-stateful": ["--mppe", "128", "--mppe-stateful"],
                "off": ["--mppe", "off"]}[self.mppe]
        t = time.monotonic()
        p = spawn(NS_A, [os.path.join(ROOT, "target/release/pptp-client"), "up", "--server", B_IP, "--user", USER,
                         "--password-stdin", "--ifname", ifname, "--no-host-route", "--events", "json"] + mppe,
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
    times.sort()
    p99 = times[math.ceil(len(times) * 0.99) - 1]  # nearest rank
    return {"median_ms": round(statistics.median(times), 4), "p99_ms": p99, "max_ms": times[-1],
            "received": len(times), "sent": count}


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
        print(f"   ping: median {res['ping']['median_ms']} ms, 99th percentile {res['ping']['p99_ms']} ms, "
              f"worst {res['ping']['max_ms']} ms ({res['ping']['received']}/{res['ping']['sent']})", flush=True)
        if t.pids:
            res["peak_rss_kib"] = {str(i): peak_rss_kib(p) for i, p in enumerate(t.pids)}
        stop(iperf_server)
        return res
    finally:
        t.down()


def setup_times(runs):
    t = Pptp("128")
    t.start_peer()
    times, first_ping = [], []
    try:
        for _ in range(runs):
            p, took, _ = t.start_client()
            times.append(took)
            # The first packet sent once the up event is out must get through.
            r = ns(NS_A, ["ping", "-c", "1", "-W", "2", PPTP_SERVER_TUN], check=False)
            m = re.search(r"time=([0-9.]+) ms", r.stdout)
            first_ping.append(float(m.group(1)) if m else None)
            stop(p)
    finally:
        stop(t.peer)
        shutil.rmtree(t.work, ignore_errors=True)
    return {"median_ms": round(statistics.median(times) * 1000, 2), "worst_ms": round(max(times) * 1000, 2),
            "runs": runs, "all_ms": [round(x * 1000, 2) for x in times],
            "first_ping_answered": sum(x is not None for x in first_ping), "first_ping_ms": first_ping}


def multi_tunnel(counts, seconds):
    """`n` MPPE-128 stateless tunnels at once from NS_A to one pptp-testpeer, one
    iperf3 stream up each: the aggregate, and what each pptp-client costs."""
    rows = {}
    for n in counts:
        print(f"== {n} tunnel(s) at once", flush=True)
        t = Pptp("128")
        t.start_peer(parallel=n)
        clients, servers = [], []
        try:
            for k in range(n):
                p, _, ev = t.start_client(f"pptpc{k}")
                clients.append((p, ev))
            for k in range(n):
                servers.append(spawn(NS_B, ["iperf3", "-s", "-p", str(5201 + k)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL))
            wait_for(lambda: all(f":{5201 + k} " in ns(NS_B, ["ss", "-ltn"]).stdout for k in range(n)), "iperf3 -s")
            pids = [p.pid for p, _ in clients]
            cpu0 = [cpu_seconds(x) for x in pids + [t.peer.pid]]
            runs = [subprocess.Popen(["ip", "netns", "exec", NS_A, "iperf3", "-c", ev["peer"], "-p", str(5201 + k),
                                      "-t", str(seconds), "-J"], stdout=subprocess.PIPE, text=True)
                    for k, (_, ev) in enumerate(clients)]
            outs = [r.communicate(timeout=seconds + 60)[0] for r in runs]
            cpu1 = [cpu_seconds(x) for x in pids + [t.peer.pid]]
            got = [json.loads(o)["end"]["sum_received"] for o in outs]
            total_bytes = sum(g["bytes"] for g in got)
            if any(g["bytes"] <= 0 for g in got):
                raise RuntimeError(f"a tunnel of {n} moved nothing")
            client_cpu = [b - a for a, b in zip(cpu0[:-1], cpu1[:-1])]
            rss = [peak_rss_kib(x) for x in pids]
            rows[str(n)] = {
                "aggregate_mbit_s": round(sum(g["bits_per_second"] for g in got) / 1e6, 1),
                "per_tunnel_mbit_s": [round(g["bits_per_second"] / 1e6, 1) for g in got],
                "client_cpu_s_each": [round(c, 3) for c in client_cpu],
                "peer_cpu_s": round(cpu1[-1] - cpu0[-1], 3),
                "cpu_s_per_gb": round((sum(cpu1) - sum(cpu0)) / (total_bytes / 1e9), 3),
                "client_peak_rss_kib_max": max(rss),
                "client_peak_rss_kib_each": rss,
            }
            r = rows[str(n)]
            print(f"   aggregate {r['aggregate_mbit_s']} Mbit/s, {r['cpu_s_per_gb']} CPU s/GB, "
                  f"client RSS max {r['client_peak_rss_kib_max']} KiB", flush=True)
        finally:
            for p in servers:
                stop(p)
            for p, _ in clients:
                stop(p)
            stop(t.peer)
            shutil.rmtree(t.work, ignore_errors=True)
    return rows


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
        tunnels = [Bare(), Boringtun(), OpenVpn(), Pptp("128"), Pptp("128-stateful"), Pptp("off")]
        for t in tunnels:
            results["tunnels"][t.name] = measure(t, args.smoke)
        results["multi_tunnel"] = multi_tunnel([1, 4] if args.smoke else [1, 4, 16], 2 if args.smoke else 10)
        results["setup"] = setup_times(3 if args.smoke else 20)
        su = results["setup"]
        print(f"== setup time against pptp-testpeer: median {su['median_ms']} ms, worst {su['worst_ms']} ms; "
              f"first ping after up answered {su['first_ping_answered']}/{su['runs']}", flush=True)
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
    ovpn = tun["OpenVPN"]
    r["ratios"] = {
        "throughput_1_stream_ours_over_boringtun": round(ours["tcp_1_up"]["mbit_s"] / bt["tcp_1_up"]["mbit_s"], 3),
        "throughput_1_stream_ours_over_openvpn": round(ours["tcp_1_up"]["mbit_s"] / ovpn["tcp_1_up"]["mbit_s"], 3),
        "throughput_1_stream_ours_over_bare": round(ours["tcp_1_up"]["mbit_s"] / bare["tcp_1_up"]["mbit_s"], 3),
        "added_latency_ours_over_boringtun": round(ours["added_latency_ms"] / bt["added_latency_ms"], 3)
        if bt["added_latency_ms"] > 0 else None,
        "added_latency_ours_over_openvpn": round(ours["added_latency_ms"] / ovpn["added_latency_ms"], 3)
        if ovpn["added_latency_ms"] > 0 else None,
        "cpu_per_gb_ours_over_boringtun": round(ours["tcp_1_up"]["cpu_s_per_gb"] / bt["tcp_1_up"]["cpu_s_per_gb"], 3),
        "cpu_per_gb_ours_over_openvpn": round(ours["tcp_1_up"]["cpu_s_per_gb"] / ovpn["tcp_1_up"]["cpu_s_per_gb"], 3),
    }
    cols = ["tcp_1_up", "tcp_1_down", "tcp_4_up", "tcp_4_down"]
    print()
    print(f"{'tunnel':28} " + " ".join(f"{c:>11}" for c in cols) + f" {'+ping ms':>9} {'CPU s/GB':>9} {'RSS KiB':>8}")
    for name, t in tun.items():
        mb = " ".join(f"{t[c]['mbit_s']:>11}" if c in t else f"{'-':>11}" for c in cols)
        cpu = t["tcp_1_up"]["cpu_s_per_gb"]
        rss = t.get("peak_rss_kib", {}).get("0", "-")
        print(f"{name:28} {mb} {t['added_latency_ms']:>9} {cpu if cpu is not None else '-':>9} {rss:>8}")
    for n, m in r["multi_tunnel"].items():
        print(f"{n:>2} tunnel(s) at once: {m['aggregate_mbit_s']} Mbit/s in all, {m['cpu_s_per_gb']} CPU s/GB, "
              f"pptp-client peak RSS up to {m['client_peak_rss_kib_max']} KiB")
    print(f"setup (median of {r['setup']['runs']}): {r['setup']['median_ms']} ms, worst {r['setup']['worst_ms']} ms, "
          f"first ping after up answered {r['setup']['first_ping_answered']}/{r['setup']['runs']}")
    print("ratios:", json.dumps(r["ratios"]))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        cleanup()
        sys.exit(130)
