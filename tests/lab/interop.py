#!/usr/bin/env python3
"""pptp-client against a real pptpd (pppd 2.4.9, kernel MPPE) in the lab VM.

Each scenario boots (or reuses) a VM configured for it, runs
`pptp-client up ... --events json` in the client namespace and checks what a
user would: the up event, ping and a 10 MB echo through the tunnel, a clean
exit on SIGTERM with no tunnel device or route left behind, and the exit code
and message of each failure. Run as root: `python3 tests/lab/interop.py [NAME...]`.
"""
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labvm import (  # noqa: E402
    HERE, LAB, NS, PASSWORD, PHASES, ROOT, SERVER, TUNNEL_SERVER, echo_10mb, in_ns, kill_vm, links, ping, routes, routes6, server_log, sh, vm,
)


# PPTP_CLIENT: another build to run the scenarios against (an older commit, to
# see a scenario fail without its fix).
CLIENT = os.environ.get("PPTP_CLIENT") or os.path.join(ROOT, "target", "release", "pptp-client")


results = []


class Client:
    def __init__(self, args, password=PASSWORD, env=None):
        cmd = ["ip", "netns", "exec", NS, CLIENT, "up", "--events", "json"] + args
        if password is not None:
            cmd.append("--password-stdin")
        self.p = subprocess.Popen(cmd, env=dict(os.environ, **(env or {})), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if password is not None:
            self.p.stdin.write(password + "\n")
            self.p.stdin.flush()
        self.p.stdin.close()
        self.events = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.p.stderr), daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                self.events.put({"event": "garbage", "line": line})

    def wait(self, kind, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                e = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.p.poll() is not None and self.events.empty():
                    break
                continue
            if e.get("event") == kind:
                return e
            if e.get("event") == "down" and kind != "down":
                raise AssertionError(f"went down instead of {kind}: {e}")
        raise AssertionError(f"no {kind} event within {timeout} s; stderr: {''.join(self.stderr)[-2000:]}")

    def exit_code(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError(f"pptp-client still running after {timeout} s")

    def stop(self):
        self.p.send_signal(15)


def up_down(args, expect_mppe, password=PASSWORD, check_transfer=True, expect_receive=None):
    before_routes = routes()
    c = Client(args, password)
    up = c.wait("up", 90)
    assert up["mppe"] == expect_mppe, f"mppe {up['mppe']} != {expect_mppe}"
    assert up["mppe_receive"] == (expect_receive or expect_mppe), up
    assert up["local"].startswith("198.19.0."), up
    assert up["dns"] == ["198.19.0.53", "198.19.0.54"], up
    assert up["ifname"] in links()
    ping(up["peer"])
    extra = ""
    if check_transfer:
        res = echo_10mb(TUNNEL_SERVER)
        extra = f", 10 MB each way in {res['seconds']} s"
    c.stop()
    code = c.exit_code(10)
    assert code == 0, f"exit {code} after SIGTERM; stderr {''.join(c.stderr)[-1000:]}"
    assert up["ifname"] not in links(), "tunnel device left behind"
    assert routes() == before_routes, f"routes not restored:\nbefore {before_routes}\nafter {routes()}"
    return f"send {up['mppe']}, receive {up['mppe_receive']}, auth {up['auth']}, mtu {up['mtu']}{extra}"


def scenario_mschapv2_mppe128():
    vm()
    return up_down(["--server", SERVER, "--user", "alice", "--default-route"], "128-stateless")


def scenario_peers_directory():
    vm()
    d = tempfile.mkdtemp()
    os.makedirs(os.path.join(d, "peers"))
    with open(os.path.join(d, "peers", "PAL"), "w") as f:
        f.write(f'pty "pptp {SERVER} --nolaunchpppd"\nname alice\nremotename PPTP\nfile /etc/ppp/options.pptp\nipparam tunnel\n')
    with open(os.path.join(d, "options.pptp"), "w") as f:
        f.write("lock noauth nobsdcomp nodeflate require-mppe mppe-stateful\n")
    with open(os.path.join(d, "chap-secrets"), "w") as f:
        f.write(f'# client server secret IP\nalice PPTP "{PASSWORD}" *\n')
    # The seed's options.pptp allows stateful; this pptpd does not: stateless both ways.
    return up_down(["--peer", "PAL", "--ppp-dir", d], "128-stateless", password=None)


def scenario_wrong_password():
    vm()
    c = Client(["--server", SERVER, "--user", "alice"], password="not the password")
    down = c.wait("down", 60)
    code = c.exit_code(10)
    assert code == 10, f"exit {code}"
    assert down["reason"] == "auth-failed" and "E=691" in down["message"], down
    return f"exit 10: {down['message']}\n      server: {server_log(6).strip()}"


def scenario_gre_blocked():
    vm()
    nft = "add table ip labgre; add chain ip labgre in { type filter hook input priority 0; }; add rule ip labgre in ip protocol gre drop"
    r = in_ns(["nft", nft])
    assert r.returncode == 0, r.stderr
    try:
        t = time.monotonic()
        c = Client(["--server", SERVER, "--user", "alice"])
        down = c.wait("down", 120)
        code = c.exit_code(10)
    finally:
        in_ns(["nft", "delete table ip labgre"])
    assert code in (11, 12), f"exit {code}: {down}"
    assert "GRE" in down["message"] or "protocol 47" in down["message"], down
    return f"exit {code} after {time.monotonic() - t:.0f} s: {down['message']}"


def quirky_server(habits):
    """The real pptpd behind ctl_rewrite.py, which gives its control messages
    another vendor's habits: the call comes up and carries traffic, and the
    proxy did rewrite (a proxy that changed nothing fails the scenario)."""
    vm()
    proxy = subprocess.Popen(["ip", "netns", "exec", NS, "python3", os.path.join(HERE, "ctl_rewrite.py"), SERVER, habits],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proxy.stdout.readline().strip() == "ready", proxy.stderr.read()
        detail = up_down(["--server", SERVER, "--user", "alice"], "128-stateless", check_transfer=False)
    finally:
        proxy.terminate()
        out, err = proxy.communicate(timeout=10)
    rewrites = sorted({line.split(":")[0] for line in out.splitlines() if ":" in line})
    assert rewrites == sorted(habits.split(",")), f"the proxy rewrote {rewrites}, not {habits}:\n{out}{err}"
    return f"{habits}: {detail}"


def scenario_start_reply_result_0():
    return quirky_server("result0")


def scenario_unrecognized_control_messages():
    return quirky_server("unknown,reserved")


def scenario_link_info_and_a_foreign_call_disconnect():
    return quirky_server("sli,foreign_cdn")


def scenario_nothing_listening():
    vm()  # for the namespaces; the client aims at its own address, where nothing listens
    t = time.monotonic()
    c = Client(["--server", "198.18.0.1", "--user", "alice"])
    down = c.wait("down", 30)
    code = c.exit_code(10)
    assert code == 11 and down["reason"] == "peer-unreachable", (code, down)
    return f"exit 11 after {time.monotonic() - t:.1f} s: {down['message']}"


def scenario_vm_killed_while_up():
    vm()
    before = routes()
    c = Client(["--server", SERVER, "--user", "alice", "--lcp-echo-interval", "3", "--lcp-echo-failure", "3", "--default-route"])
    up = c.wait("up", 90)
    ping(up["peer"])
    t = time.monotonic()
    kill_vm()
    down = c.wait("down", 90)
    code = c.exit_code(10)
    assert code == 13, f"exit {code}: {down}"
    assert up["ifname"] not in links() and routes() == before
    return f"exit 13 {time.monotonic() - t:.0f} s after the kill: {down['message']}"


def scenario_session_limit():
    """A server with a connect-time limit (pppd `maxconnect 12`) ends a session
    that worked: it closes CCP ("MPPE disabled"), then LCP. pptp-client reports
    the server ending the session, with its words, not an encryption failure,
    and leaves nothing behind."""
    vm(maxconnect=12)
    before = routes()
    c = Client(["--server", SERVER, "--user", "alice", "--default-route"])
    up = c.wait("up", 90)
    ping(up["peer"])
    t = time.monotonic()
    down = c.wait("down", 60)
    code = c.exit_code(10)
    assert down["reason"] == "session-ended", f"{down}"
    assert code == 13, f"exit {code}: {down}"
    assert up["ifname"] not in links() and routes() == before
    return f"exit {code} {time.monotonic() - t:.0f} s after the ping: {down['message']}"

def scenario_tunnel_device_deleted():
    """Someone deletes the tunnel interface under a running call: its reads fail
    for good, and the client must end the call with that reason, not spin."""
    vm()
    c = Client(["--server", SERVER, "--user", "alice"])
    up = c.wait("up", 90)
    ping(up["peer"])
    t = time.monotonic()
    r = in_ns(["ip", "link", "del", up["ifname"]])
    assert r.returncode == 0, r.stderr
    down = c.wait("down", 15)
    code = c.exit_code(10)
    assert down["reason"] == "local-io-error" and "tunnel interface" in down["message"], down
    assert code == 13, f"exit {code}: {down}"
    return f"exit 13 {time.monotonic() - t:.1f} s after the delete: {down['message']}"


def forged_gre_during_ping(args, vm_opts):
    """Forged GRE from the server's side of the wire (a packet socket on its veth,
    spoofing the server) while a ping runs through the tunnel: the ping keeps its
    answers and the call stays up."""
    vm(**vm_opts)
    c = Client(["--server", SERVER, "--user", "alice"] + args, env={"RUST_LOG": "info", "NO_COLOR": "1"})
    up = c.wait("up", 90)
    ping(up["peer"])  # the path works before the forgery starts
    pinger = subprocess.Popen(["ip", "netns", "exec", NS, "ping", "-c", "40", "-i", "0.1", "-W", "2", up["peer"]],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.5)
    forger = sh(["ip", "netns", "exec", "pptplab-s", "python3", os.path.join(HERE, "forge_gre.py"),
                 SERVER, "198.18.0.1", "1000"], timeout=60)
    out, _ = pinger.communicate(timeout=60)
    assert forger.returncode == 0, f"forger failed: {forger.stdout}{forger.stderr}"
    sent = json.loads(forger.stdout)["sent"]
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    assert int(m.group(2)) >= int(m.group(1)) - 1, f"the ping lost answers under forgery:\n{out}"
    ping(up["peer"])  # and after it
    assert c.p.poll() is None, "the client ended under forgery"
    c.stop()
    assert c.exit_code(10) == 0
    counters = next((l.strip() for l in c.stderr if "GRE counters" in l), "")
    seqs = {int(x) for x in re.findall(r"icmp_seq=(\d+)", out)}
    missing = sorted(set(range(1, int(m.group(1)) + 1)) - seqs)
    return (f"{sent} forged packets during the ping: {m.group(2)}/{m.group(1)} answered"
            f" (missing {missing}), tunnel up; {counters}")


def scenario_forged_gre_stateless():
    return forged_gre_during_ping([], {})


def scenario_forged_gre_stateful():
    return forged_gre_during_ping(["--mppe-stateful"], {"mppe": "128-stateful"})


def scenario_forged_frame_before_first_lcp():
    """An on-path attacker reads the call ID from the clear Outgoing-Call-Request
    and sends a clear LCP frame to the new call with the sequence number 2^30
    before the server's first LCP packet: the tunnel comes up and carries
    encrypted traffic (the forged number must not own the receive window)."""
    vm()
    forger = subprocess.Popen(["ip", "netns", "exec", "pptplab-s", "python3", os.path.join(HERE, "forge_gre.py"),
                               SERVER, "198.18.0.1", "--before-lcp"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # the packet socket is open before the call starts
    c = Client(["--server", SERVER, "--user", "alice"], env={"RUST_LOG": "info", "NO_COLOR": "1"})
    up = c.wait("up", 90)
    out, err = forger.communicate(timeout=60)
    assert forger.returncode == 0, f"forger failed: {out}{err}"
    sent = json.loads(out)
    ping(up["peer"])  # the server's side of the link is ready (ip-up has run)
    r = in_ns(["ping", "-c", "10", "-i", "0.2", "-W", "2", up["peer"]])
    m = re.search(r"(\d+) packets transmitted, (\d+) received", r.stdout)
    assert m and m.group(1) == m.group(2), f"encrypted traffic lost after the forged frame:\n{r.stdout}"
    c.stop()
    assert c.exit_code(10) == 0
    counters = next((l.strip() for l in c.stderr if "GRE counters" in l), "")
    return f"forged LCP to call {sent['call_id']} at seq 2^30 before the server's first; 10/10 pings through; {counters}"


def scenario_mppe_flood_on_a_lossy_path():
    """A flood of forged MPPE packets (as fast as the forger goes, well above the
    4096 key changes a second the receiver allows, each one key change ahead of
    the server's next count) while genuine traffic crosses a path that
    loses 3 % of the server's packets: the genuine packet after each loss still
    opens (its key is the one the forgeries made the client compute), so the
    ping keeps its answers but for the path's own losses."""
    vm(netem="loss,3%")
    c = Client(["--server", SERVER, "--user", "alice"], env={"RUST_LOG": "info", "NO_COLOR": "1"})
    up = c.wait("up", 90)
    ping(up["peer"])
    forger = subprocess.Popen(["ip", "netns", "exec", "pptplab-s", "python3", os.path.join(HERE, "forge_gre.py"),
                               SERVER, "198.18.0.1", "--flood", "8"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    r = in_ns(["ping", "-c", "100", "-i", "0.05", "-W", "2", up["peer"]])
    out, err = forger.communicate(timeout=60)
    assert forger.returncode == 0, f"forger failed: {out}{err}"
    sent = json.loads(out)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", r.stdout)
    assert m, r.stdout
    got = int(m.group(2))
    assert got >= 88, f"{got}/100 answered under the flood (3 % loss alone would leave ~97):\n{r.stdout}"
    assert c.p.poll() is None, "the client ended under the flood"
    c.stop()
    assert c.exit_code(10) == 0
    counters = next((l.strip() for l in c.stderr if "GRE counters" in l), "")
    # Keys ahead are computed once: forgeries do not each cost a key change
    # (a receiver that paid per forged packet spent ~1 in 3 here).
    rekeys = int(re.search(r"mppe_rekeys=(\d+)", counters).group(1))
    assert rekeys <= sent["sent"] // 20 + 1000, f"{rekeys} key changes for {sent['sent']} forgeries"
    return f"{sent['sent']} forged in {sent['seconds']:.0f} s; {got}/100 pings answered on a 3 % lossy path; {counters}"


def scenario_only_40_bit_server_refused():
    """A server that offers only 40-bit MPPE (what stripping the 128-bit bit
    from an unauthenticated CCP looks like) against a connection that says
    nothing: refused, the reason says so and names the opt-in."""
    vm(mppe="40")
    c = Client(["--server", SERVER, "--user", "alice"])
    down = c.wait("down", 90)
    code = c.exit_code(10)
    assert code == 12, f"exit {code}: {down}"
    assert down["reason"] == "mppe-too-weak", down
    assert "--mppe 40" in down["message"] and "40-bit" in down["message"], down
    return f"exit 12: {down['message']}"


def scenario_mppe40():
    vm(mppe="40")
    return up_down(["--server", SERVER, "--user", "alice", "--mppe", "40"], "40-stateless")


def scenario_mppe128_stateful():
    vm(mppe="128-stateful")
    # pppd with mppe-stateful acks our stateful request but asks stateless itself;
    # insisting would close the link on servers that refuse stateful. So the kernel
    # compresses statefully towards us and we send stateless.
    return up_down(["--server", SERVER, "--user", "alice", "--mppe-stateful"], "128-stateless", expect_receive="128-stateful")


def scenario_unencrypted_chap():
    vm(auth="chap", mppe="off")
    return up_down(["--server", SERVER, "--user", "alice", "--mppe", "off", "--auth", "chap"], "off")


def refused_server(auth, reason, flags):
    """A server the default connection must not talk to: no Up, the stated reason,
    and pppd's own debug log shows no PAP request ever arrived."""
    vm(auth=auth, mppe="off")
    c = Client(["--server", SERVER, "--user", "alice"])
    down = c.wait("down", 90)
    code = c.exit_code(10)
    assert code == 12, f"exit {code}: {down}"
    assert down["reason"] == reason, down
    assert flags in down["message"], down
    log = server_log(400)
    assert "rcvd [LCP ConfReq" in log, "the server's log shows no LCP at all:\n" + log
    assert "PAP AuthReq" not in log, "a PAP request reached the server:\n" + log
    return f"exit 12: {down['message']}"


def scenario_pap_only_server():
    return refused_server("pap", "method-refused", "--auth pap --mppe off")


def scenario_noauth_server():
    return refused_server("none", "no-authentication", "--mppe off")


def scenario_class_route():
    """--class-route on a server that pushes nothing: the assigned address's
    classful network (198.19.0.0/24) goes through the tunnel, and away after."""
    vm()
    c = Client(["--server", SERVER, "--user", "alice", "--class-route"])
    up = c.wait("up", 90)
    end = time.monotonic() + 5
    while f"198.19.0.0/24 dev {up['ifname']}" not in (r := routes()) and time.monotonic() < end:
        time.sleep(0.1)
    assert f"198.19.0.0/24 dev {up['ifname']}" in r, r
    c.stop()
    assert c.exit_code(10) == 0
    assert "198.19.0.0/24" not in routes(), routes()
    return f"198.19.0.0/24 through {up['ifname']} while up, gone after"


def scenario_dhcp_routes():
    """A server that answers DHCPINFORM (dnsmasq on its ppp interfaces): the routes
    and domain it pushes reach the client, which routes them through the tunnel
    (and they replace the class route)."""
    vm(dhcp="1")
    t = time.monotonic()
    c = Client(["--server", SERVER, "--user", "alice", "--class-route"])
    up = c.wait("up", 90)
    pushed = c.wait("pushed", 10)
    after = time.monotonic() - t
    assert pushed["routes"] == ["10.200.0.0/16", "172.31.7.0/24"], pushed
    assert pushed["domain"] == "corp.example" and pushed["dns"] == ["198.19.0.60"], pushed
    r = routes()
    assert f"10.200.0.0/16 dev {up['ifname']}" in r, r
    assert "198.19.0.0/24" not in r, f"the class route stayed beside the pushed ones:\n{r}"
    ping("10.200.0.1")  # behind the pushed route, on the server
    c.stop()
    assert c.exit_code(10) == 0
    gone = routes()
    assert "10.200.0.0/16" not in gone, gone
    return f"pushed {pushed['routes']} and domain {pushed['domain']} ({after:.1f} s after start); 10.200.0.1 answered"


def scenario_hostile_dhcp_routes():
    """A server pushing routes that would capture a split tunnel (0.0.0.0/1 and
    128.0.0.0/1), the VPN server and the client's own LAN, beside honest ones
    (10.200.0.0/16, and a host route to the other lab layout's server address):
    only the honest ones are installed, each other is refused with its reason,
    and the client's routes are as before once it stops."""
    vm(dhcp="hostile")
    before = routes()
    c = Client(["--server", SERVER, "--user", "alice"])
    up = c.wait("up", 90)
    pushed = c.wait("pushed", 10)
    assert "0.0.0.0/1" in pushed["routes"] and "10.200.0.0/16" in pushed["routes"], pushed
    time.sleep(0.5)
    r = routes()
    dev = up["ifname"]
    assert f"10.200.0.0/16 dev {dev}" in r, r
    for bad in ["0.0.0.0/1", "128.0.0.0/1", SERVER, "198.18.0.0/24"]:
        assert f"{bad} dev {dev}" not in r, f"{bad} through the tunnel:\n{r}"
    ping("10.200.0.1")
    c.stop()
    assert c.exit_code(10) == 0
    refused = [l.strip() for l in c.stderr if "from the server refused" in l]
    assert len(refused) == 4, "\n".join(c.stderr)
    assert routes() == before, f"routes changed:\n{before}\n---\n{routes()}"
    return "installed 10.200.0.0/16 and the other /32; refused: " + "; ".join(refused)


def scenario_hostile_router_advert():
    """A server whose router advertisements carry a Route Information option for
    ::/0 (beside 2001:db8:78::/64), and which sends the same advertisement behind
    a hop-by-hop header naming 2001:db8:79::/64 too: a split tunnel takes the
    address and 2001:db8:78::/64, refuses ::/0 (saying why), drops the hidden
    advertisement before the tunnel interface, which takes none itself."""
    vm(ipv6="hostile")
    c = Client(["--server", SERVER, "--user", "alice"],
               env={"RUST_LOG": "info,pptp_engine::session::link=debug", "NO_COLOR": "1"})
    up = c.wait("up", 90)
    router = c.wait("router", 20)
    assert "::/0" in router["routes"] and "2001:db8:78::/64" in router["routes"], router
    assert "2001:db8:79::/64" not in router["routes"], router
    time.sleep(3)  # more advertisements, both kinds
    dev = up["ifname"]
    r6 = in_ns(["ip", "-6", "route"]).stdout
    assert f"2001:db8:78::/64 dev {dev}" in r6, r6
    for bad in ["2001:db8:79::", f"default dev {dev}", f"::/1 dev {dev}", f"8000::/1 dev {dev}"]:
        assert bad not in r6, f"{bad} through the tunnel:\n{r6}"
    accept_ra = in_ns(["cat", f"/proc/sys/net/ipv6/conf/{dev}/accept_ra"]).stdout.strip()
    assert accept_ra == "0", accept_ra
    c.stop()
    assert c.exit_code(10) == 0
    refused = [l.strip() for l in c.stderr if "route ::/0 from the server refused" in l]
    assert len(refused) == 1, "\n".join(c.stderr)
    dropped = sum("neighbour discovery from the tunnel dropped" in l for l in c.stderr)
    assert dropped >= 1, "the hidden advertisement never arrived:\n" + "\n".join(c.stderr[-30:])
    return f"took {router['addresses']} and 2001:db8:78::/64; {refused[0]}; {dropped} hidden advertisements dropped; accept_ra=0"


def scenario_fixed_address():
    """--local-address: a server that lets clients keep their address
    (ipcp-accept-remote) gives it; pppd's default (Nak with the pool's address)
    ends the connect at once, naming both; --ipcp-accept-local takes the pool's."""
    base = ["--server", SERVER, "--user", "alice"]

    def up_with(extra):
        c = Client(base + extra)
        up = c.wait("up", 90)
        c.stop()
        assert c.exit_code(10) == 0
        return up["local"]

    vm(acceptremote="1")
    kept = up_with(["--local-address", "198.19.0.77"])
    assert kept == "198.19.0.77", kept
    vm()
    t = time.monotonic()
    c = Client(base + ["--local-address", "198.19.0.77"])
    down = c.wait("down", 60)
    took = time.monotonic() - t
    assert c.exit_code(10) == 12, down
    assert down["reason"] == "address-refused", down
    offered = re.search(r"it offered (198\.19\.0\.\d+)", down["message"])
    assert "198.19.0.77" in down["message"] and offered, down
    taken = up_with(["--local-address", "198.19.0.77", "--ipcp-accept-local"])
    assert taken != "198.19.0.77" and taken.startswith("198.19.0."), taken
    return f"kept 198.19.0.77; refused in {took:.1f} s: {down['message']}; accept-local took {taken}"


def scenario_persist_across_an_outage():
    """--persist: the path to the server is cut (everything to it dropped) for
    15 s while the tunnel carries the default route. The client reports the
    loss, dials again until the path is back, comes up on the same interface
    and passes traffic; SIGTERM then leaves nothing behind. With --maxfail 2
    and no server, it gives up after two dials."""
    vm()
    before = routes()
    c = Client(["--server", SERVER, "--user", "alice", "--default-route", "--persist",
                "--lcp-echo-interval", "1", "--lcp-echo-failure", "3"])
    up = c.wait("up", 90)
    ping(up["peer"])
    cut = f"add table ip labcut; add chain ip labcut out {{ type filter hook output priority 0; }}; " \
          f"add rule ip labcut out ip daddr {SERVER} drop"
    r = in_ns(["nft", cut])
    assert r.returncode == 0, r.stderr
    t = time.monotonic()
    try:
        lost = c.wait("reconnecting", 30)
        lost_after = time.monotonic() - t
        assert up["ifname"] in links(), "the interface went away with the call"
        time.sleep(max(0.0, 15 - (time.monotonic() - t)))
    finally:
        in_ns(["nft", "delete table ip labcut"])
    back = time.monotonic()
    again = c.wait("up", 90)
    took = time.monotonic() - back
    assert again["ifname"] == up["ifname"], (up, again)
    ping(again["peer"])
    c.stop()
    code = c.exit_code(10)
    assert code == 0, f"exit {code}; stderr {''.join(c.stderr)[-1000:]}"
    assert up["ifname"] not in links() and routes() == before, routes()
    t = time.monotonic()
    c = Client(["--server", "198.18.0.1", "--user", "alice", "--persist", "--maxfail", "2"])
    down = c.wait("down", 30)
    code = c.exit_code(10)
    assert code == 11 and down["reason"] == "peer-unreachable", (code, down)
    return (f"lost {lost_after:.0f} s into the cut ({lost['reason']}), up again on {again['ifname']} "
            f"{took:.0f} s after it ended ({up['local']} then {again['local']}), pinged, SIGTERM clean; "
            f"--maxfail 2 with no server: exit 11 after {time.monotonic() - t:.1f} s")


def scenario_sigterm_in_every_phase():
    """SIGTERM the moment each phase of a connect begins (the server's answers
    held back 400 ms by the VM's netem, so each phase lasts): pptp-client ends
    within 5 s with status 0, leaving no interface or route; the server then
    takes the next connect at once."""
    vm(netem="delay,400ms")
    before_routes, before_links = routes(), links()
    took = []
    for phase, marker in PHASES:
        c = Client(["--server", SERVER, "--user", "alice", "--debug"])
        end = time.monotonic() + 30
        while marker not in "".join(c.stderr):
            assert time.monotonic() < end and c.p.poll() is None, \
                f"{phase}: never reached; stderr {''.join(c.stderr)[-1500:]}"
            time.sleep(0.01)
        t = time.monotonic()
        c.stop()
        code = c.exit_code(5)
        took.append(f"{phase} {time.monotonic() - t:.2f} s")
        assert code == 0, f"{phase}: exit {code}; stderr {''.join(c.stderr)[-1500:]}"
        assert links() == before_links, f"{phase}: interfaces left:\n{links()}"
        assert routes() == before_routes, f"{phase}: routes left:\n{routes()}"
    up = Client(["--server", SERVER, "--user", "alice"])
    up.wait("up", 30)
    up.stop()
    assert up.exit_code(10) == 0
    return "exit 0, nothing left, after SIGTERM in " + ", ".join(took) + "; the next connect came up"


def scenario_ipv6():
    """A server with IPv6 (pppd +ipv6, radvd on its ppp interfaces): the link
    gets a SLAAC address from the advertised prefix and our IPV6CP identifier,
    the advertised route and name server, and IPv6 crosses the tunnel both ways
    (full-size packets too); SIGTERM leaves no IPv6 route behind."""
    import ipaddress
    vm(ipv6=1)
    before = routes6()
    t = time.monotonic()
    c = Client(["--server", SERVER, "--user", "alice", "--default-route"])
    up = c.wait("up", 90)
    local = ipaddress.IPv6Address(up["ipv6_local"])
    assert local in ipaddress.IPv6Network("fe80::/64"), up
    router = c.wait("router", 15)
    took = time.monotonic() - t
    want = str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("2001:db8:77::")) | (int(local) & (2**64 - 1))))
    assert router["addresses"] == [want], router
    assert router["dns"] == ["2001:db8:77::53"], router
    assert router["routes"] == ["2001:db8:78::/64"], router
    assert router["default_route"], router
    addrs = in_ns(["ip", "-6", "addr", "show", "dev", up["ifname"]]).stdout
    assert want in addrs and str(local) in addrs, addrs
    r6 = in_ns(["ip", "-6", "route"]).stdout
    assert "2001:db8:78::/64 dev " + up["ifname"] in r6 and "::/1 dev " + up["ifname"] in r6, r6
    for dest in ["2001:db8:77::1", "2001:db8:78::1", "2001:db8:79::1"]:
        # 79 is nowhere: it must still go into the tunnel (the default route),
        # where the server answers it cannot reach it.
        r = in_ns(["ping", "-6", "-c", "3", "-i", "0.3", "-W", "3", "-s", "1300", dest])
        if dest.endswith("79::1"):
            assert "0 received" in r.stdout or r.returncode != 0, r.stdout
            continue
        assert r.returncode == 0, f"ping -6 {dest} failed:\n{r.stdout}{r.stderr}"
        assert f"from {dest}" in r.stdout, r.stdout
    # Which way would a global IPv6 packet leave? Through the tunnel.
    get = in_ns(["ip", "-6", "route", "get", "2001:db8:79::1"]).stdout
    assert f"dev {up['ifname']}" in get, get
    c.stop()
    code = c.exit_code(10)
    assert code == 0, f"exit {code}; stderr {''.join(c.stderr)[-1000:]}"
    assert up["ifname"] not in links()
    assert routes6() == before, f"IPv6 routes left:\n{routes6()}\nbefore:\n{before}"
    return f"address {want} and the route/DNS from radvd {took:.1f} s after start; ping -6 -s 1300 to the server and behind its route"


def scenario_ipv6_no_leak():
    """A server without IPv6 (IPV6CP rejected) on a dual-stack LAN: with the
    default route through the tunnel, IPv6 goes into the tunnel too, where it is
    refused at once (ICMPv6 administratively prohibited), and not one packet to
    a global IPv6 address leaves by the LAN."""
    vm(ipv6=0)
    lan = [["ip", "-6", "addr", "add", "2001:db8:100::2/64", "dev", "c0", "nodad"],
           ["ip", "-6", "route", "add", "default", "via", "2001:db8:100::1", "dev", "c0"]]
    count = ("add table ip6 lableak; add chain ip6 lableak out { type filter hook output priority 0; }; "
             "add rule ip6 lableak out oifname c0 ip6 daddr 2001:db8:79::/48 counter")
    for cmd in lan:
        r = in_ns(cmd)
        assert r.returncode == 0, r.stderr
    try:
        assert "dev c0" in in_ns(["ip", "-6", "route", "get", "2001:db8:79::1"]).stdout, "the LAN has IPv6"
        assert in_ns(["nft", count]).returncode == 0
        before = routes6()
        c = Client(["--server", SERVER, "--user", "alice", "--default-route"])
        up = c.wait("up", 90)
        assert up["ipv6_local"] is None, up
        get = in_ns(["ip", "-6", "route", "get", "2001:db8:79::1"]).stdout
        assert f"dev {up['ifname']}" in get, get
        t = time.monotonic()
        r = in_ns(["ping", "-6", "-c", "2", "-i", "0.3", "-W", "2", "2001:db8:79::1"])
        assert "Administratively prohibited" in r.stdout, r.stdout + r.stderr
        t = time.monotonic()
        tcp = in_ns(["python3", "-c", "import socket\ntry:\n socket.create_connection(('2001:db8:79::1', 443), timeout=10)\nexcept OSError as e:\n print(type(e).__name__, e.errno)"])
        refused_in = time.monotonic() - t
        assert refused_in < 2 and tcp.stdout.strip(), (tcp.stdout, tcp.stderr, refused_in)
        leaked = in_ns(["nft", "list", "table", "ip6", "lableak"]).stdout
        assert "packets 0 " in leaked, f"IPv6 left by the LAN:\n{leaked}"
        c.stop()
        assert c.exit_code(10) == 0
        assert routes6() == before, f"IPv6 routes left:\n{routes6()}"
    finally:
        in_ns(["nft", "delete table ip6 lableak"])
        in_ns(["ip", "-6", "route", "del", "default", "via", "2001:db8:100::1", "dev", "c0"])
        in_ns(["ip", "-6", "addr", "del", "2001:db8:100::2/64", "dev", "c0"])
    return f"IPv6 routed into the tunnel; ping refused (administratively prohibited); TCP connect refused in {refused_in * 1000:.0f} ms ({tcp.stdout.strip()}); 0 packets by the LAN"


SCENARIOS = [
    scenario_nothing_listening,
    scenario_mschapv2_mppe128,
    scenario_start_reply_result_0,
    scenario_unrecognized_control_messages,
    scenario_link_info_and_a_foreign_call_disconnect,
    scenario_peers_directory,
    scenario_wrong_password,
    scenario_gre_blocked,
    scenario_vm_killed_while_up,
    scenario_session_limit,
    scenario_tunnel_device_deleted,
    scenario_persist_across_an_outage,
    scenario_sigterm_in_every_phase,
    scenario_forged_gre_stateless,
    scenario_mppe40,
    scenario_only_40_bit_server_refused,
    scenario_hostile_dhcp_routes,
    scenario_hostile_router_advert,
    scenario_forged_frame_before_first_lcp,
    scenario_mppe_flood_on_a_lossy_path,
    scenario_mppe128_stateful,
    scenario_forged_gre_stateful,
    scenario_unencrypted_chap,
    scenario_pap_only_server,
    scenario_noauth_server,
    scenario_class_route,
    scenario_dhcp_routes,
    scenario_fixed_address,
    scenario_ipv6,
    scenario_ipv6_no_leak,
]


def main():
    wanted = sys.argv[1:]
    failed = 0
    try:
        for s in SCENARIOS:
            name = s.__name__.removeprefix("scenario_")
            if wanted and name not in wanted:
                continue
            print(f"--- {name}", flush=True)
            t = time.monotonic()
            for attempt in (1, 2):
                try:
                    detail = s()
                    print(f"    ok ({time.monotonic() - t:.1f} s): {detail}", flush=True)
                except Exception as e:  # noqa: BLE001 - report every scenario
                    log = server_log(300)
                    # The server VM's own kernel (Debian's, under qemu TCG) has
                    # panicked mid-transfer on a loaded machine; that is not the
                    # client failing. Say so, and run the scenario once more on a
                    # fresh VM. A second failure, or any other, counts.
                    if attempt == 1 and "Kernel panic" in log:
                        print("    the server VM's kernel panicked (not our code); retrying on a fresh VM:\n"
                              + "".join(log.splitlines(True)[-12:]), flush=True)
                        kill_vm()
                        continue
                    failed += 1
                    print(f"    FAILED ({time.monotonic() - t:.1f} s): {e}\n    server log:\n{server_log()}", flush=True)
                break
    finally:
        sh(["bash", LAB, "down"])
    if failed:
        print(f"{failed} lab scenario(s) failed")
        sys.exit(1)
    print("all lab scenarios passed")


if __name__ == "__main__":
    main()
