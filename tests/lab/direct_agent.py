#!/usr/bin/env python3
"""A secret agent that answers VPN passwords itself, the way COSMIC's does
(through nmrs) and any agent that keeps passwords of its own: it registers with
NetworkManager's AgentManager and answers GetSecrets for the `vpn` setting with
the password read from stdin, never running an auth dialog. Each request is
printed as a JSON line (setting, hints, flags); "registered" once it listens.

Run inside NetworkManager's namespaces (nmlab) with Debian's python3-gi:
`printf %s PASSWORD | /usr/bin/python3 tests/lab/direct_agent.py`."""
import json
import sys

from gi.repository import Gio, GLib

IFACE = """
<node>
  <interface name="org.freedesktop.NetworkManager.SecretAgent">
    <method name="GetSecrets">
      <arg name="connection" type="a{sa{sv}}" direction="in"/>
      <arg name="connection_path" type="o" direction="in"/>
      <arg name="setting_name" type="s" direction="in"/>
      <arg name="hints" type="as" direction="in"/>
      <arg name="flags" type="u" direction="in"/>
      <arg name="secrets" type="a{sa{sv}}" direction="out"/>
    </method>
    <method name="CancelGetSecrets">
      <arg name="connection_path" type="o" direction="in"/>
      <arg name="setting_name" type="s" direction="in"/>
    </method>
    <method name="SaveSecrets">
      <arg name="connection" type="a{sa{sv}}" direction="in"/>
      <arg name="connection_path" type="o" direction="in"/>
    </method>
    <method name="DeleteSecrets">
      <arg name="connection" type="a{sa{sv}}" direction="in"/>
      <arg name="connection_path" type="o" direction="in"/>
    </method>
  </interface>
</node>
"""


def main():
    password = sys.stdin.read()
    bus = Gio.bus_get_sync(Gio.BusType.SYSTEM)
    node = Gio.DBusNodeInfo.new_for_xml(IFACE)

    def call(_conn, _sender, _path, _iface, method, params, invocation):
        if method != "GetSecrets":
            invocation.return_value(None)
            return
        _connection, _path, setting, hints, flags = params.unpack()
        print(json.dumps({"setting": setting, "hints": hints, "flags": flags}), flush=True)
        if setting != "vpn":
            invocation.return_dbus_error("org.freedesktop.NetworkManager.SecretAgent.NoSecrets",
                                         f"no secrets for {setting}")
            return
        answer = GLib.Variant("(a{sa{sv}})", ({"vpn": {"secrets": GLib.Variant("a{ss}", {"password": password})}},))
        invocation.return_value(answer)

    bus.register_object("/org/freedesktop/NetworkManager/SecretAgent", node.interfaces[0], call)
    bus.call_sync("org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager/AgentManager",
                  "org.freedesktop.NetworkManager.AgentManager", "Register",
                  GLib.Variant("(s)", ("org.example.direct-agent",)), None, Gio.DBusCallFlags.NONE, 10000, None)
    print("registered", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
