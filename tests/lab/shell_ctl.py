#!/usr/bin/python3
"""What the lab does to GNOME Shell from inside its session, through the Shell's
and mutter's own D-Bus APIs, as a screenshot tool and a remote keyboard would:
  shell_ctl.py screenshot PATH   the whole virtual monitor as PNG
  shell_ctl.py type TEXT         typed on a virtual keyboard, then Return
  shell_ctl.py key NAME          one key: Return or Escape
  shell_ctl.py vpn-toggle STATE|click
                                 Quick Settings' VPN toggle (the top bar's
                                 menu): print "on", "off" or "hidden"; or open
                                 the menu and click the toggle, as a user does
Run with the session's environment (DBUS_SESSION_BUS_ADDRESS). The toggle is
found through org.gnome.Shell.Eval (the lab starts the Shell with
--unsafe-mode): where it is, and whether it shows on; the click is a pointer
event from a virtual input device, which the Shell handles as a mouse's."""
import sys
import time

from gi.repository import Gio, GLib

KEYSYMS = {"Return": 0xFF0D, "Escape": 0xFF1B}


def bus():
    return Gio.bus_get_sync(Gio.BusType.SESSION, None)


def call(conn, name, path, iface, method, args=None, reply=None):
    return conn.call_sync(name, path, iface, method, args, reply, Gio.DBusCallFlags.NONE, 10000, None)


def screenshot(path):
    conn = bus()
    # The Shell serves screenshots only to a few clients, known by the bus
    # names they own; this one owns the screenshot tool's name, as it does.
    r = call(conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
             GLib.Variant("(su)", ("org.gnome.Screenshot", 4)), GLib.VariantType("(u)"))
    if r.unpack()[0] not in (1, 4):
        sys.exit("could not own org.gnome.Screenshot")
    ok, used = call(conn, "org.gnome.Shell.Screenshot", "/org/gnome/Shell/Screenshot", "org.gnome.Shell.Screenshot",
                    "Screenshot", GLib.Variant("(bbs)", (False, False, path)), GLib.VariantType("(bs)")).unpack()
    if not ok:
        sys.exit(f"the Shell did not take the screenshot ({used})")


# GNOME Shell 43: the network indicator's VPN toggle in Quick Settings.
TOGGLE = "imports.ui.main.panel.statusArea.quickSettings._network._vpnToggle"


def shell_eval(script):
    ok, out = call(bus(), "org.gnome.Shell", "/org/gnome/Shell", "org.gnome.Shell", "Eval",
                   GLib.Variant("(s)", (script,)), GLib.VariantType("(bs)")).unpack()
    if not ok:
        sys.exit(f"the Shell could not evaluate the lab's script: {out}")
    return out


def vpn_toggle_state():
    return shell_eval(f"const t = {TOGGLE}; !t.visible ? 'hidden' : t.checked ? 'on' : 'off'").strip('"')


def vpn_toggle_click():
    quick = "imports.ui.main.panel.statusArea.quickSettings"
    shell_eval(f"{quick}.menu.open(true); 'open'")
    time.sleep(1)  # the menu's opening animation: the toggle settles where it stays
    # The main part of the toggle (its left), not the arrow that opens its menu.
    shell_eval(f"""
        const Clutter = imports.gi.Clutter, GLib = imports.gi.GLib;
        const t = {TOGGLE};
        const [x, y] = t.get_transformed_position(), [w, h] = t.get_transformed_size();
        const seat = Clutter.get_default_backend().get_default_seat();
        global._labPointer = global._labPointer || seat.create_virtual_device(Clutter.InputDeviceType.POINTER_DEVICE);
        const p = global._labPointer, now = GLib.get_monotonic_time();
        p.notify_absolute_motion(now, x + w * 0.25, y + h / 2);
        p.notify_button(now + 20000, Clutter.BUTTON_PRIMARY, Clutter.ButtonState.PRESSED);
        p.notify_button(now + 40000, Clutter.BUTTON_PRIMARY, Clutter.ButtonState.RELEASED);
        'clicked'""")
    time.sleep(0.5)
    shell_eval(f"{quick}.menu.close(true); 'closed'")


def keyboard(keysyms):
    """mutter's remote desktop session: its virtual keyboard types into whatever
    has the Shell's key focus."""
    conn = bus()
    mutter = "org.gnome.Mutter.RemoteDesktop"
    session = call(conn, mutter, "/org/gnome/Mutter/RemoteDesktop", mutter, "CreateSession", None,
                   GLib.VariantType("(o)")).unpack()[0]
    iface = mutter + ".Session"
    call(conn, mutter, session, iface, "Start")
    try:
        for sym in keysyms:
            for pressed in (True, False):
                call(conn, mutter, session, iface, "NotifyKeyboardKeysym", GLib.Variant("(ub)", (sym, pressed)))
            time.sleep(0.02)
    finally:
        call(conn, mutter, session, iface, "Stop")


def main():
    what, arg = sys.argv[1], sys.argv[2]
    if arg == "-":  # what to type comes on stdin, so that it is never in argv
        arg = sys.stdin.read()
    if what == "screenshot":
        screenshot(arg)
    elif what == "type":
        # Printable ASCII: the keysym is the character's code.
        assert all(0x20 <= ord(c) < 0x7F for c in arg), "only printable ASCII can be typed"
        keyboard([ord(c) for c in arg] + [KEYSYMS["Return"]])
    elif what == "key":
        keyboard([KEYSYMS[arg]])
    elif what == "vpn-toggle" and arg == "state":
        print(vpn_toggle_state())
    elif what == "vpn-toggle" and arg == "click":
        vpn_toggle_click()
    else:
        sys.exit(f"unknown command {what}")


if __name__ == "__main__":
    main()
