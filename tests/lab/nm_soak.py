"""The soak: a VPN up for minutes with traffic and echoes, its service's
memory, descriptors and CPU sampled, nothing left behind afterwards."""

import os
import subprocess
import time

import nmlab  # first: it sets the lab topology
import labvm
from nmlab import (
    nm, nm_log_from, nm_log_since, no_leftovers, services, up_with,
)


# Echo transfers back to back until a deadline, each one checked (SHA-256).
SOAK_TRAFFIC = """
import json, subprocess, sys, time
end = time.monotonic() + float(sys.argv[2]); n = moved = 0; bad = []
while time.monotonic() < end:
    r = subprocess.run([sys.executable, "-c", sys.argv[3], sys.argv[1], str(8 << 20), "120"],
                       capture_output=True, text=True)
    res = json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr[-300:]}
    n += 1
    if res.get("same"):
        moved += 2 * res["sent"]
    else:
        bad.append(res)
print(json.dumps({"transfers": n, "bytes": moved, "bad": bad[:3]}))
"""


def proc_sample(pid):
    """RSS (KiB) and CPU time (s) of one process."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def soak(minutes):
    """Traffic both ways through the VPN for MINUTES; the plugin's RSS and CPU
    sampled every minute. RSS flat (< 1 MiB above the first minute's), every
    transfer intact, no warning from the plugin, nothing left after down."""
    log_from = nm_log_from()
    dev, _, before = up_with("PAL-soak")
    (pid,) = services() - before[2]
    secs = minutes * 60
    traffic = subprocess.Popen(["nsenter", "-t", str(nmlab.env_pid), "-m", "-n", "python3", "-c", SOAK_TRAFFIC,
                                labvm.TUNNEL_SERVER, str(secs), labvm.ECHO_CHECK],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = []
    t0 = time.monotonic()
    last = proc_sample(pid)
    for m in range(1, minutes + 1):
        time.sleep(max(0, t0 + 60 * m - time.monotonic()))
        rss, cpu = proc_sample(pid)
        samples.append((m, rss, round(100 * (cpu - last[1]) / 60, 1)))
        last = (rss, cpu)
        print(f"    minute {m}: RSS {rss} KiB, CPU {samples[-1][2]} %", flush=True)
    out, err = traffic.communicate(timeout=300)
    assert traffic.returncode == 0, err[-1000:]
    res = __import__("json").loads(out)
    assert res["transfers"] > 0 and not res["bad"], f"transfers failed: {res}"
    first = samples[0][1]
    growth = max(r for _, r, _ in samples) - first
    assert growth < 1024, f"RSS grew {growth} KiB over {minutes} min: {samples}"
    warnings = [l for l in nm_log_since(log_from) if (" WARN " in l or " ERROR " in l)]
    assert not warnings, "the plugin warned during the soak:\n" + "\n".join(warnings[:10])
    nm("nmcli", "connection", "down", "PAL-soak")
    no_leftovers(dev, *before)
    nm("nmcli", "connection", "delete", "PAL-soak")
    cpus = [c for _, _, c in samples]
    return (f"{minutes} min, {res['transfers']} transfers, {res['bytes'] / 1e9:.2f} GB moved, all intact; "
            f"RSS {first} KiB at minute 1, max growth {growth} KiB; CPU per minute median "
            f"{sorted(cpus)[len(cpus) // 2]} %, max {max(cpus)} %; no warnings; samples {samples}")


def scenario_soak_short():
    """The soak's representative case in the default suite (README's soak
    command runs the full 30 minutes)."""
    return soak(2)


def scenario_soak():
    return soak(int(os.environ.get("SOAK_MINUTES", "30")))
