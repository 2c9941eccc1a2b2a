#!/usr/bin/python3
"""What the lab does to GNOME Shell from inside its session, through the Shell's
and mutter's own D-Bus APIs, as a screenshot tool and a remote keyboard would:
  shell_ctl.py screenshot PATH   the whole virtual monitor as PNG
  shell_ctl.py type TEXT         typed on a virtual keyboard, then Return
  shell_ctl.py key NAME          one key: Return or Escape
Run with the session's environment (DBUS_SESSION_BUS_ADDRESS)."""
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
    else:
        sys.exit(f"unknown command {what}")


if __name__ == "__main__":
    main()
