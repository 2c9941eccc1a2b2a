#!/usr/bin/env python3
"""Real NetworkManager (Debian's 1.42) starting our nm-pptp-service against the
lab's real pptpd. The plugin's files come from our .deb packages, unpacked and
overlaid on /usr inside a private mount namespace in the client network
namespace.
The scenarios live by topic in nm_basic, nm_gnome, nm_faults and nm_soak, the
NetworkManager they drive in nmlab. Run as root:
`python3 tests/lab/nm_e2e.py [SCENARIO...]` (`netem`: the whole path matrix;
`soak`: the 30-minute soak; `--demo`: README's first command)."""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nmlab  # noqa: E402  (first: it sets the lab topology)
import labvm  # noqa: E402
from nm_basic import (  # noqa: E402
    scenario_a_refused_password_is_asked_again, scenario_accel_ppp_server, scenario_an_agent_that_answers_itself,
    scenario_ask_password, scenario_fixed_address,
    scenario_import_peers, scenario_ipv6, scenario_ipv6_no_leak, scenario_split_routes,
    scenario_two_at_once, scenario_up_and_down, scenario_wrong_password,
)
from nm_gnome import (  # noqa: E402
    scenario_cinnamon_settings, scenario_gnome_ask_every_time, scenario_gnome_create_and_switch,
    scenario_gnome_quick_settings_toggle,
    scenario_gnome_settings, scenario_gnome_wrong_password_saved_for_all,
    scenario_gnome_wrong_saved_password, scenario_nm_applet_asks_through_our_dialog,
    scenario_nm_connection_editor,
)
from nm_faults import (  # noqa: E402
    netem_scenarios, scenario_control_connection_reset, scenario_gre_blocked_midway,
    scenario_lan_reactivated, scenario_networkmanager_killed, scenario_path_outage,
    scenario_plugin_killed, scenario_server_killed, scenario_server_paused,
    scenario_stop_in_every_phase,
)
from nm_soak import (  # noqa: E402
    scenario_soak, scenario_soak_short,
)
from nmlab import WORK, add_vpn, nm, stage_plugin, start_nm, wait_gone  # noqa: E402


def demo():
    """README's first command: show a user's view of `nmcli connection up PAL`."""
    def show(title, *cmd):
        print(f"== {title}\n$ {' '.join(cmd)}", flush=True)
        print(nm(*cmd).stdout.rstrip(), flush=True)
    add_vpn("PAL")
    show("client routes before", "ip", "-4", "route")
    show("bring the VPN up", "nmcli", "connection", "up", "PAL")
    show("VPN state", "nmcli", "-f", "GENERAL.STATE,IP4.ADDRESS,IP4.DNS", "connection", "show", "PAL")
    show("routes with the VPN up", "ip", "-4", "route")
    show("resolv.conf with the VPN up", "cat", "/etc/resolv.conf")
    show("ping through the tunnel", "ping", "-c", "3", "198.19.0.1")
    show("the running plugin on D-Bus", "sh", "-c",
         "dbus-send --system --print-reply --dest=$(dbus-send --system --print-reply --dest=org.freedesktop.DBus "
         "/org/freedesktop/DBus org.freedesktop.DBus.ListNames | grep -o 'org.freedesktop.NetworkManager.pptp[^\"]*' | head -1) "
         "/org/freedesktop/NetworkManager/VPN/Plugin org.freedesktop.DBus.Introspectable.Introspect "
         "| sed -n '/VPN.Plugin/,/<\\/interface>/p'")
    show("bring it down", "nmcli", "connection", "down", "PAL")
    wait_gone("tun0")
    show("routes after", "ip", "-4", "route")
    show("resolv.conf after", "cat", "/etc/resolv.conf")


SCENARIOS = [scenario_up_and_down, scenario_wrong_password, scenario_fixed_address, scenario_ask_password,
             scenario_a_refused_password_is_asked_again, scenario_an_agent_that_answers_itself, scenario_import_peers,
             scenario_gnome_settings, scenario_gnome_create_and_switch, scenario_gnome_ask_every_time,
             scenario_gnome_quick_settings_toggle,
             scenario_gnome_wrong_saved_password, scenario_gnome_wrong_password_saved_for_all,
             scenario_nm_connection_editor, scenario_nm_applet_asks_through_our_dialog, scenario_cinnamon_settings, scenario_two_at_once, scenario_networkmanager_killed,
             scenario_server_killed, scenario_split_routes, scenario_ipv6, scenario_ipv6_no_leak, scenario_path_outage,
             scenario_plugin_killed, scenario_gre_blocked_midway, scenario_server_paused, scenario_lan_reactivated,
             scenario_control_connection_reset, scenario_stop_in_every_phase, scenario_accel_ppp_server,
             scenario_soak_short]


# The path rows' representative case in the default suite (`netem` runs them all).
DEFAULT_PATH_ROWS = {"netem_loss1_stateless"}


def main():
    wanted = [a for a in sys.argv[1:] if a != "--demo"]
    demo_mode = "--demo" in sys.argv[1:]
    failed = 0
    envp = None
    try:
        stage_plugin()
        labvm.vm()
        envp = start_nm()
        if demo_mode:
            demo()
            return
        # `netem` alone: the whole path-fault matrix (long); otherwise by name.
        # Those outside SCENARIOS (the other path rows, the full soak) run when named.
        extra = netem_scenarios() + [scenario_soak]
        chosen = netem_scenarios() if wanted == ["netem"] else SCENARIOS + [
            s for s in extra if s.__name__.removeprefix("scenario_") in set(wanted) | DEFAULT_PATH_ROWS]
        for s in chosen:
            name = s.__name__.removeprefix("scenario_")
            if wanted and wanted != ["netem"] and name not in wanted:
                continue
            print(f"--- nm {name}", flush=True)
            t = time.monotonic()
            try:
                if labvm.current_vm is None:
                    labvm.reboot_vm()
                detail = s()
                print(f"    ok ({time.monotonic() - t:.1f} s): {detail}", flush=True)
            except Exception as e:  # noqa: BLE001
                failed += 1
                log = "".join(l for l in open(os.path.join(WORK, "nm", "nm.log"), errors="replace")
                              if "vpn" in l.lower() or "pptp" in l.lower())[-4000:]
                print(f"    FAILED ({time.monotonic() - t:.1f} s): {e}\n--- NetworkManager log tail:\n{log}", flush=True)
    finally:
        nmlab.stop_desktop()
        if envp is not None:
            envp.terminate()
            try:
                envp.wait(10)
            except subprocess.TimeoutExpired:
                envp.kill()
        labvm.sh(["bash", labvm.LAB, "down"])
        shutil.rmtree(WORK, ignore_errors=True)
    if failed:
        print(f"{failed} NetworkManager scenario(s) failed")
        sys.exit(1)
    print("all NetworkManager scenarios passed")


if __name__ == "__main__":
    main()
