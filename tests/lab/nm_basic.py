"""NetworkManager scenarios through nmcli: up and down, a fixed address, a
wrong password, asking for the password (and again after a refusal), peers
file import, two VPNs at once, split routes, IPv6 and no IPv6 leak."""

import json
import os
import re
import subprocess
import time

import nmlab  # first: it sets the lab topology
import labvm
from nmlab import (
    Terminal, WORK, add_vpn, nm, nm_log_from, nm_log_since, resolv, routes, routes6, settles, vpn_device, wait_gone,
)


def scenario_up_and_down():
    before_routes, before_resolv = routes(), resolv()
    assert "198.18.0.254" in before_resolv, before_resolv
    add_vpn("PAL")
    t = time.monotonic()
    nm("nmcli", "connection", "up", "PAL")
    took = time.monotonic() - t
    # The first packet after activation must get through (it once did not: the
    # README demo lost its first ping).
    first = nm("ping", "-c", "1", "-W", "2", "198.19.0.1", check=False)
    assert first.returncode == 0, f"the first ping after activation was not answered:\n{first.stdout}"
    first_ms = re.search(r"time=([0-9.]+) ms", first.stdout).group(1)
    state = nm("nmcli", "-g", "GENERAL.STATE", "connection", "show", "PAL").stdout.strip()
    assert state == "activated", state
    dev, addr = vpn_device("PAL")
    assert dev and addr.startswith("198.19.0."), (dev, addr)
    r = routes()
    assert r.splitlines()[0].startswith(f"default dev {dev} "), f"the default route is not through {dev}:\n{r}"
    via = nm("ip", "route", "get", labvm.SERVER).stdout
    assert "dev c0" in via, f"the server no longer routes via the physical link: {via}"
    if labvm.ROUTED:
        assert "via 198.18.0.254" in via, f"the server is not pinned via the LAN's router: {via}"
        assert f"{labvm.SERVER} via 198.18.0.254 dev c0" in r, f"no host route to the server:\n{r}"
    assert "198.19.0.53" in resolv(), resolv()
    nm("ping", "-c", "3", "-W", "3", "198.19.0.1")
    nm("nmcli", "connection", "down", "PAL")
    wait_gone(dev)
    settles(routes, before_routes, "routes")
    settles(resolv, before_resolv, "resolv.conf")
    return (f"activated in {took:.1f} s on {dev} ({addr}), the first ping answered in {first_ms} ms; "
            "routes and resolv.conf restored")


def scenario_accel_ppp_server():
    """accel-ppp, the second server implementation (LCP, CHAP, CCP and IPCP of its
    own, kernel MPPE), through NetworkManager, from a freshly booted server that
    probes with LCP and PPTP echoes every second and ends sessions after 8 s:
    connects (3; NM_ACCEL_CONNECTS=20 for the full count), each answering a ping
    right after activation and again after 5 s of the server's probing, then
    down; a wrong password is a login failure; and the session limit ends a
    working session: the plugin's log says the server ended it, and
    NetworkManager is told the service stopped, not that a connect failed.
    (tests/lab/accel.py runs the full matrix with pptp-client, beside pppd +
    pptp-linux.)"""
    connects = int(os.environ.get("NM_ACCEL_CONNECTS", "3"))
    labvm.reboot_vm(impl="accel", echo="1", maxconnect="8")
    try:
        before_routes, before_resolv = routes(), resolv()
        add_vpn("PALACCEL")
        times = []
        for _ in range(connects):
            t = time.monotonic()
            nm("nmcli", "connection", "up", "PALACCEL")
            times.append(time.monotonic() - t)
            first = nm("ping", "-c", "1", "-W", "2", "198.19.0.1", check=False)
            assert first.returncode == 0, f"no answer right after activation:\n{first.stdout}"
            dev, addr = vpn_device("PALACCEL")
            time.sleep(5)  # five rounds of the server's echo probing
            nm("ping", "-c", "1", "-W", "2", "198.19.0.1")
            nm("nmcli", "connection", "down", "PALACCEL")
            wait_gone(dev)
            settles(routes, before_routes, "routes")
            settles(resolv, before_resolv, "resolv.conf")
        add_vpn("PALACCELBAD", password="not the password")
        r = nm("nmcli", "connection", "up", "PALACCELBAD", check=False)
        assert r.returncode != 0 and "Invalid secrets" in r.stdout + r.stderr, r.stdout + r.stderr
        since = nm_log_from()
        nm("nmcli", "connection", "up", "PALACCEL")
        dev, _ = vpn_device("PALACCEL")
        nm("ping", "-c", "1", "-W", "2", "198.19.0.1")
        wait_gone(dev, timeout=30)
        log = nm_log_since(since)
        ended = [l for l in log if "the server ended the session" in l]
        assert ended, "the plugin did not say the server ended the session:\n" + "\n".join(log[-30:])
        # The service stops without a Failure signal: NetworkManager's reason is
        # service-stopped (its log has the plugin's state, no "VPN plugin: failed").
        stopped = [l for l in log if '"PALACCEL"' in l and "state changed: stopped (6)" in l]
        failed = [l for l in log if "connect-failed" in l or "login-failed" in l]
        assert stopped and not failed, "NetworkManager's reason:\n" + "\n".join(l for l in log if "PALACCEL" in l)
        settles(routes, before_routes, "routes")
        return (f"{connects} connects, each up in {min(times):.1f}-{max(times):.1f} s, answering a ping at once and "
                f"after 5 s of echo probing; a wrong password: login failed; the session limit: the server ended "
                f"the session, NetworkManager: service stopped")
    finally:
        labvm.current_vm = None  # the next scenario gets pptpd back


def scenario_fixed_address():
    """local-address in vpn.data against pppd's default (it Naks any address but
    the pool's): the activation fails, and the plugin's log names both addresses."""
    add_vpn("PALFIX", extra="local-address=198.19.0.77")
    t = time.monotonic()
    r = nm("nmcli", "connection", "up", "PALFIX", check=False)
    took = time.monotonic() - t
    assert r.returncode != 0, r.stdout
    log = open(os.path.join(WORK, "nm", "nm.log"), errors="replace").read()
    said = [l for l in log.splitlines() if "fixed address 198.19.0.77" in l]
    assert said and "it offered 198.19.0." in said[-1], log[-3000:]
    nm("nmcli", "connection", "delete", "PALFIX")
    return f"refused in {took:.1f} s: {said[-1].split('VPN connection failed: ')[-1]}"


def scenario_wrong_password():
    add_vpn("BAD", password="not the password")
    r = nm("nmcli", "connection", "up", "BAD", check=False)
    assert r.returncode != 0
    msg = (r.stdout + r.stderr).strip()
    # nmcli's text for NM_ACTIVE_CONNECTION_STATE_REASON_LOGIN_FAILED.
    assert "Invalid secrets" in msg, msg
    return msg.splitlines()[0]


def scenario_ask_password():
    """nmcli's secret agent runs our auth dialog (external UI mode), prints what it
    says and prompts on the terminal: the not-saved password is typed there."""
    add_vpn("PALASK", password=None)
    t = Terminal("nsenter", "-t", str(nmlab.env_pid), "-m", "-n", "nmcli", "--ask", "connection", "up", "PALASK")
    # The dialog's Description, so the prompt came from our dialog, not nmcli's fallback.
    t.expect("You need to authenticate to access the Virtual Private Network “PALASK”.", 60)
    t.expect("Password", 10)
    t.type("pass word\n")
    code = t.finish(90)
    screen = t.text()
    assert code == 0, f"nmcli exited {code}:\n{screen}"
    assert "pass word" not in screen, "the password was echoed"
    state = nm("nmcli", "-g", "GENERAL.STATE", "connection", "show", "PALASK").stdout.strip()
    assert state == "activated", state
    dev, addr = vpn_device("PALASK")
    nm("ping", "-c", "2", "-W", "3", "-I", dev, "198.19.0.1")
    nm("nmcli", "connection", "down", "PALASK")
    wait_gone(dev)
    prompt = next(l for l in screen.splitlines() if "Password" in l).strip()
    return f"nmcli --ask prompted {prompt!r}; up on {dev} ({addr}), pinged"


def scenario_a_refused_password_is_asked_again():
    """The user mistypes the password nmcli asks for: the plugin tells NetworkManager
    why (SecretsRequired), nmcli runs our dialog again with that message as a hint
    (supports-hints), the user types the right one, and the plugin dials again."""
    add_vpn("PALRETRY", password=None)
    t = Terminal("nsenter", "-t", str(nmlab.env_pid), "-m", "-n", "nmcli", "--ask", "connection", "up", "PALRETRY")
    t.expect("Password", 60)
    t.type("not the password\n")
    # The server's refusal, as our dialog shows it from the hint.
    t.expect("The server rejected the user name or password (E=691)", 60)
    t.expect("Enter the password again.", 10)
    t.expect("Password", 10, count=2)
    t.type("pass word\n")
    code = t.finish(90)
    screen = t.text()
    assert code == 0, f"nmcli exited {code}:\n{screen}"
    state = nm("nmcli", "-g", "GENERAL.STATE", "connection", "show", "PALRETRY").stdout.strip()
    assert state == "activated", state
    dev, addr = vpn_device("PALRETRY")
    nm("nmcli", "connection", "down", "PALRETRY")
    wait_gone(dev)
    line = next(l for l in screen.splitlines() if "E=691" in l).strip()
    return f"nmcli --ask showed {line!r}; up on {dev} ({addr}) with the typed password"


def scenario_import_peers():
    """The seed's /etc/ppp layout imported with nmcli (our libnm plugin parses it),
    then brought up against the real pptpd."""
    ppp = os.path.join(WORK, "ppp")
    os.makedirs(os.path.join(ppp, "peers"), exist_ok=True)
    files = {
        "peers/PALIMP": f'pty "pptp {labvm.SERVER} --nolaunchpppd"\nname alice\nremotename PPTP\n'
                        'file /etc/ppp/options.pptp\nipparam tunnel\n',
        "options.pptp": "lock noauth nobsdcomp nodeflate require-mppe mppe-stateful\n",
        "chap-secrets": 'alice PPTP "pass word" *\nPPTP alice "pass word" *\n',
    }
    for rel, text in files.items():
        with open(os.path.join(ppp, rel), "w") as f:
            f.write(text)
    os.chmod(os.path.join(ppp, "chap-secrets"), 0o600)
    r = nm("nmcli", "connection", "import", "type", "pptp", "file", os.path.join(ppp, "peers", "PALIMP"))
    assert "successfully added" in r.stdout, r.stdout + r.stderr
    data = nm("nmcli", "-g", "vpn.data", "connection", "show", "PALIMP").stdout.strip()
    # No opt-in may be written; the secure defaults are, spelled out for other
    # plugins (require-mppe alone means 128-bit here).
    assert "= no" not in data, data
    for item in (f"gateway = {labvm.SERVER}", "user = alice", "mppe-stateful = yes",
                 "refuse-pap = yes", "require-mppe = yes", "require-mppe-128 = yes"):
        assert item in data, data
    nm("nmcli", "connection", "up", "PALIMP")
    dev, addr = vpn_device("PALIMP")
    nm("ping", "-c", "2", "-W", "3", "-I", dev, "198.19.0.1")
    nm("nmcli", "connection", "down", "PALIMP")
    wait_gone(dev)
    return f"imported ({data}); up on {dev} ({addr}), pinged"


def scenario_an_agent_that_answers_itself():
    """A connection as COSMIC makes it (the user name under `username`) and a
    secret agent of its kind (direct_agent.py: it keeps the password and answers
    NetworkManager's GetSecrets itself, no auth dialog) with the password
    agent-owned: NetworkManager asks it, hands the password to our service, and
    the VPN comes up and carries traffic."""
    add_vpn("PALAGENT", password=None, extra="password-flags=1", user_key="username")
    agent = subprocess.Popen(["nsenter", "-t", str(nmlab.env_pid), "-m", "-n", "/usr/bin/python3",
                              os.path.join(labvm.HERE, "direct_agent.py")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        agent.stdin.write("pass word")
        agent.stdin.close()
        line = agent.stdout.readline().strip()
        assert line == "registered", f"the agent did not register: {line!r} {agent.stderr.read()[-2000:]}"
        nm("nmcli", "--wait", "60", "connection", "up", "PALAGENT", timeout=90)
        dev, addr = vpn_device("PALAGENT")
        nm("ping", "-c", "2", "-W", "3", "-I", dev, "198.19.0.1")
        nm("nmcli", "connection", "down", "PALAGENT")
        wait_gone(dev)
    finally:
        agent.terminate()
        agent.wait(10)
        out = agent.stdout.read()
    asked = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    assert any(a["setting"] == "vpn" for a in asked), f"the agent was never asked for the VPN password: {asked}"
    return f"the agent was asked {asked}; up on {dev} ({addr}) with its answer, pinged"

def scenario_two_at_once():
    add_vpn("PAL2")
    add_vpn("PAL3")
    nm("nmcli", "connection", "up", "PAL2")
    nm("nmcli", "connection", "up", "PAL3")
    d2, a2 = vpn_device("PAL2")
    d3, a3 = vpn_device("PAL3")
    assert d2 != d3 and a2 != a3, (d2, d3, a2, a3)
    for d in (d2, d3):
        nm("ping", "-c", "2", "-W", "3", "-I", d, "198.19.0.1")
    nm("nmcli", "connection", "down", "PAL2")
    nm("nmcli", "connection", "down", "PAL3")
    wait_gone(d2, d3)
    return f"{d2} {a2} and {d3} {a3} up together, both pinged"


def scenario_split_routes():
    """The server pushes routes, a domain and a name server (DHCPINFORM, answered by
    dnsmasq in the VM). With ipv4.never-default=yes NetworkManager routes just those
    through the tunnel, keeps the default route on the physical link and puts the
    domain in resolv.conf; after down, all of it is gone."""
    labvm.reboot_vm(dhcp="1")
    before_routes, before_resolv = routes(), resolv()
    add_vpn("PALSPLIT")
    nm("nmcli", "connection", "modify", "PALSPLIT", "ipv4.never-default", "yes")
    t = time.monotonic()
    nm("nmcli", "connection", "up", "PALSPLIT")
    took = time.monotonic() - t
    dev, addr = vpn_device("PALSPLIT")
    # The server's answer follows Up by a round trip: a second Ip4Config.
    end = time.monotonic() + 10
    while "10.200.0.0/16" not in (r := routes()) and time.monotonic() < end:
        time.sleep(0.2)
    for net in ("10.200.0.0/16", "172.31.7.0/24"):
        assert f"{net} dev {dev} " in r, f"{net} is not routed through {dev}:\n{r}"
    assert f"default dev {dev}" not in r and "default via 198.18.0.254 dev c0" in r, r
    while "corp.example" not in (rc := resolv()) and time.monotonic() < end:
        time.sleep(0.2)
    search = next((l for l in rc.splitlines() if l.startswith("search")), "")
    assert "corp.example" in search, rc
    assert "198.19.0.60" in rc, rc
    nm("ping", "-c", "3", "-W", "3", "10.200.0.1")
    ip4 = nm("nmcli", "-f", "IP4", "connection", "show", "PALSPLIT").stdout
    print("    nmcli -f IP4 connection show PALSPLIT:\n" + "".join(f"      {l}\n" for l in ip4.splitlines()), end="")
    nm("nmcli", "connection", "down", "PALSPLIT")
    wait_gone(dev)
    settles(routes, before_routes, "routes")
    settles(resolv, before_resolv, "resolv.conf")
    return (f"activated in {took:.1f} s; 10.200.0.0/16 and 172.31.7.0/24 through {dev}, default route kept on c0,"
            f" '{search}'; 10.200.0.1 answered; all gone after down")


def scenario_ipv6():
    """A server with IPv6 (pppd +ipv6, radvd): NetworkManager gets the SLAAC
    address, the RDNSS name server and the advertised route from our Ip6Config,
    the IPv6 default route goes through the tunnel, ping -6 reaches the server
    and the network behind its route; after down all of it is gone."""
    labvm.reboot_vm(ipv6="1")
    before_routes, before_resolv, before6 = routes(), resolv(), routes6()
    add_vpn("PAL6")
    t = time.monotonic()
    nm("nmcli", "connection", "up", "PAL6")
    took = time.monotonic() - t
    dev, _ = vpn_device("PAL6")
    # The advertisement follows Up by a round trip or two: a second Ip6Config.
    end = time.monotonic() + 10
    def addresses6():
        # -g escapes the colons.
        return nm("nmcli", "-g", "IP6.ADDRESS", "connection", "show", "PAL6").stdout.replace("\\:", ":")
    while "2001:db8:77:" not in (a6 := addresses6()) and time.monotonic() < end:
        time.sleep(0.2)
    assert "2001:db8:77:" in a6, f"no address from the advertised prefix: {a6!r}"
    got = time.monotonic() - t
    r6 = nm("ip", "-6", "route").stdout
    assert f"2001:db8:78::/64 dev {dev}" in r6, r6
    assert f"default dev {dev}" in r6, f"the IPv6 default route is not through {dev}:\n{r6}"
    while "2001:db8:77::53" not in (rc := resolv()) and time.monotonic() < end:
        time.sleep(0.2)
    assert "2001:db8:77::53" in rc, rc
    for dest in ("2001:db8:77::1", "2001:db8:78::1"):
        nm("ping", "-6", "-c", "3", "-W", "3", "-s", "1300", dest)
    dns6 = nm("nmcli", "-g", "IP6.DNS", "connection", "show", "PAL6").stdout.strip().replace("\\:", ":")
    nm("nmcli", "connection", "down", "PAL6")
    wait_gone(dev)
    settles(routes, before_routes, "routes")
    settles(routes6, before6, "IPv6 routes")
    settles(resolv, before_resolv, "resolv.conf")
    return (f"activated in {took:.1f} s, {a6.strip()} {got:.1f} s after up was asked, DNS {dns6}; "
            f"ping -6 -s 1300 to the server and behind its route; all gone after down")


def scenario_ipv6_no_leak():
    """A server without IPv6 on a dual-stack LAN: with the VPN as default route,
    NetworkManager routes IPv6 into the tunnel too (our Ip6Config), where it is
    refused at once, and no IPv6 to a global address leaves by the LAN."""
    labvm.reboot_vm(ipv6="0")
    count = ("add table ip6 lableak; add chain ip6 lableak out { type filter hook output priority 0; }; "
             "add rule ip6 lableak out oifname c0 ip6 daddr 2001:db8:79::/48 counter")
    nm("nmcli", "connection", "modify", "lan", "ipv6.method", "manual", "ipv6.addresses", "2001:db8:100::2/64",
       "ipv6.gateway", "2001:db8:100::1")
    nm("nmcli", "connection", "up", "lan")
    try:
        end = time.monotonic() + 10
        while "dev c0" not in (get := nm("ip", "-6", "route", "get", "2001:db8:79::1", check=False).stdout) \
                and time.monotonic() < end:
            time.sleep(0.2)  # duplicate address detection first
        assert "dev c0" in get, f"the LAN has no IPv6 route: {get}"
        nm("nft", count)
        before6 = routes6()
        add_vpn("PALV4")
        nm("nmcli", "connection", "up", "PALV4")
        dev, _ = vpn_device("PALV4")
        get = nm("ip", "-6", "route", "get", "2001:db8:79::1").stdout
        assert f"dev {dev}" in get, f"IPv6 would leave around the tunnel: {get}\n{nm('ip', '-6', 'route').stdout}"
        r = nm("ping", "-6", "-c", "2", "-i", "0.3", "-W", "2", "2001:db8:79::1", check=False)
        assert "Administratively prohibited" in r.stdout, r.stdout + r.stderr
        leaked = nm("nft", "list", "table", "ip6", "lableak").stdout
        assert "packets 0 " in leaked, f"IPv6 left by the LAN:\n{leaked}"
        nm("nmcli", "connection", "down", "PALV4")
        wait_gone(dev)
        settles(routes6, before6, "IPv6 routes")
        assert "dev c0" in nm("ip", "-6", "route", "get", "2001:db8:79::1").stdout
    finally:
        nm("nft", "delete table ip6 lableak", check=False)
        nm("nmcli", "connection", "modify", "lan", "ipv6.method", "disabled", "ipv6.addresses", "", "ipv6.gateway", "")
        nm("nmcli", "connection", "up", "lan")
    return "IPv6 routed into the tunnel while up, ping refused there (administratively prohibited), 0 packets by the LAN; LAN route back after down"
