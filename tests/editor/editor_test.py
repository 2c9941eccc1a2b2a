#!/usr/bin/python3
"""The editor in a real GTK host on Xvfb, loaded through libnm the way its hosts
load it: fields filled in, update_connection, reopened, errors. GTK 4 (GNOME
Settings' editor) by default; EDITOR_GTK=3 runs the same tests in a GTK 3
process (nm-connection-editor's, Cinnamon's, MATE's editor).
Run under a display: `xvfb-run -a /usr/bin/python3 tests/editor/editor_test.py`;
screenshots go to $SCREENSHOT_DIR (default target/screenshots)."""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, plugin, ppp_tree, vpn_data  # noqa: E402
import gi  # noqa: E402

GTK = os.environ.get("EDITOR_GTK", "4")
gi.require_version("Gtk", f"{GTK}.0")
from gi.repository import GLib, Gtk, NM  # noqa: E402

SHOTS = os.environ.get("SCREENSHOT_DIR", os.path.join(ROOT, "target", "screenshots"))
# Screenshot names: the GTK 4 ones keep their names (README links them).
SHOT_PREFIX = "editor" if GTK == "4" else "editor-gtk3"
EDITOR_LIB = "libnm_gtk4_vpn_plugin_pptp_editor.so" if GTK == "4" else "libnm_vpn_plugin_pptp_editor.so"
OTHER_GTK = "libgtk-3.so" if GTK == "4" else "libgtk-4.so"


def pump(seconds=0.3):
    ctx = GLib.MainContext.default()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        while ctx.pending():
            ctx.iteration(False)
        time.sleep(0.01)


def widgets(root):
    """Every widget under root by its id in the editor's .ui."""
    found = {}

    def walk(w):
        bid = w.get_buildable_id() if GTK == "4" else Gtk.Buildable.get_name(w)
        if bid and not bid.startswith("___"):
            found[bid] = w
        if GTK == "4":
            c = w.get_first_child()
            while c:
                walk(c)
                c = c.get_next_sibling()
        elif isinstance(w, Gtk.Container):
            w.forall(walk)
    walk(root)
    return found


def window(child):
    win = Gtk.Window(title="PPTP connection")
    win.set_default_size(560, -1)
    if GTK == "4":
        win.set_child(child)
        win.present()
    else:
        win.add(child)
        win.show()
    return win


def css_classes(w):
    return w.get_css_classes() if GTK == "4" else w.get_style_context().list_classes()


def security(w):
    return w["security_choice"].get_selected() if GTK == "4" else w["security_choice"].get_active()


def set_security(w, i):
    if GTK == "4":
        w["security_choice"].set_selected(i)
    else:
        w["security_choice"].set_active(i)


class Editor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        Gtk.init() if GTK == "4" else Gtk.init([])
        cls.p = plugin()

    def open(self, conn):
        ed = self.p.get_editor(conn)
        win = window(ed.get_widget())
        pump()
        w = widgets(ed.get_widget())
        w["advanced_expander"].set_expanded(True)
        pump()
        return ed, win, widgets(ed.get_widget())

    def new_connection(self):
        c = NM.SimpleConnection.new()
        s_con = NM.SettingConnection.new()
        s_con.props.id = "Office"
        s_con.props.uuid = NM.utils_uuid_generate()
        s_con.props.type = "vpn"
        s_vpn = NM.SettingVpn.new()
        s_vpn.props.service_type = "org.freedesktop.NetworkManager.pptp"
        c.add_setting(s_con)
        c.add_setting(s_vpn)
        return c

    def test_the_toolkits_own_library_is_loaded_and_not_the_other_gtk(self):
        self.open(self.new_connection())[1].destroy()
        with open("/proc/self/maps") as f:
            maps = f.read()
        self.assertIn(EDITOR_LIB, maps)
        self.assertNotIn(OTHER_GTK, maps)

    def test_fill_update_reopen(self):
        c = self.new_connection()
        ed, win, w = self.open(c)
        changes = []
        ed.connect("changed", lambda *_: changes.append(1))
        # A new connection starts encrypted, MS-CHAP only, its MTU automatic
        # (shown as the word, not as 0).
        self.assertTrue(w["mppe_check"].get_active())
        self.assertEqual(w["mtu_spin"].get_text(), "Automatic")
        self.assertEqual(w["mtu_spin"].get_value_as_int(), 0)
        self.assertFalse(w["pap_check"].get_sensitive())
        edits = [
            lambda: w["gateway_entry"].set_text("vpn.example.com"),
            lambda: w["user_entry"].set_text("alice"),
            lambda: w["domain_entry"].set_text("CORP"),
            lambda: w["password_entry"].set_text("pass word"),
            lambda: set_security(w, 1),
            lambda: w["stateful_check"].set_active(True),
            lambda: w["echo_check"].set_active(True),
            lambda: w["mtu_spin"].set_value(1400),
            lambda: w["dhcp_inform_check"].set_active(False),
            lambda: w["class_route_check"].set_active(True),
            lambda: w["mss_clamp_check"].set_active(False),
            lambda: w["persistent_check"].set_active(True),
            lambda: w["eap_check"].get_sensitive() or None,
        ]
        for i, edit in enumerate(edits[:-1]):
            before = len(changes)
            edit()
            pump(0.05)
            self.assertGreater(len(changes), before, f"edit {i} did not fire changed")
        self.assertFalse(w["bsd_check"].get_sensitive())
        self.assertIn("compression", w["bsd_check"].get_tooltip_text())
        self.assertTrue(ed.update_connection(c))
        d = vpn_data(c)
        self.assertEqual(d["gateway"], "vpn.example.com")
        self.assertEqual(d["user"], "alice")
        self.assertEqual(d["domain"], "CORP")
        # Menu entry 1: 40 or 128 bits, both keys said.
        self.assertEqual((d["require-mppe-40"], d["require-mppe-128"]), ("yes", "yes"))
        self.assertEqual(d["mppe-stateful"], "yes")
        self.assertEqual(d["lcp-echo-interval"], "30")
        self.assertEqual(d["lcp-echo-failure"], "5")
        self.assertEqual(d["mtu"], "1400")
        self.assertEqual((d["dhcp-inform"], d["class-route"], d["mss-clamp"]), ("no", "yes", "no"))
        # "Reconnect automatically" is vpn.persistent, not a vpn.data key.
        self.assertTrue(c.get_setting_vpn().get_persistent())
        self.assertNotIn("persistent", d)
        # PAP, CHAP and EAP are refused by default, and it is written out for
        # plugins that read an absent key as "allowed".
        for k in ("refuse-pap", "refuse-chap", "refuse-eap"):
            self.assertEqual(d[k], "yes", k)
        # New connections ask every time: the password is not kept.
        self.assertEqual(d["password-flags"], "2")
        win.destroy()

        # Reopen: what was written is what is shown.
        ed2, win2, w2 = self.open(c)
        self.assertEqual(w2["gateway_entry"].get_text(), "vpn.example.com")
        self.assertEqual(w2["domain_entry"].get_text(), "CORP")
        self.assertEqual(security(w2), 1)
        self.assertTrue(w2["stateful_check"].get_active())
        self.assertTrue(w2["echo_check"].get_active())
        self.assertEqual(w2["mtu_spin"].get_value_as_int(), 1400)
        self.assertEqual(w2["mtu_spin"].get_text(), "1400")
        self.assertFalse(w2["dhcp_inform_check"].get_active())
        self.assertTrue(w2["class_route_check"].get_active())
        self.assertFalse(w2["mss_clamp_check"].get_active())
        self.assertTrue(w2["persistent_check"].get_active())
        # Turning MPPE off frees PAP; both MS-CHAPs off makes MPPE impossible.
        w2["mppe_check"].set_active(False)
        self.assertTrue(w2["pap_check"].get_sensitive())
        w2["pap_check"].set_active(True)
        w2["mschap_check"].set_active(False)
        w2["mschapv2_check"].set_active(False)
        self.assertFalse(w2["mppe_check"].get_sensitive())
        self.assertTrue(ed2.update_connection(c))
        d = vpn_data(c)
        self.assertNotIn("require-mppe-128", d)
        self.assertNotIn("require-mppe-40", d)
        # The opt-ins are written out.
        self.assertEqual(d["require-mppe"], "no")
        self.assertEqual(d["refuse-pap"], "no")
        self.assertEqual(d["refuse-mschapv2"], "yes")
        win2.destroy()

    def test_saved_password_round_trips_with_its_flags(self):
        c = self.p.import_(ppp_tree())
        # A property the editor shows no field for survives a save.
        c.get_setting_vpn().props.timeout = 90
        ed, win, w = self.open(c)
        self.assertEqual(w["password_entry"].get_text(), "pass word")
        self.assertTrue(ed.update_connection(c))
        s = c.get_setting_vpn()
        self.assertIn(s.get_data_item("password-flags"), (None, "0"))
        self.assertEqual(s.get_secret("password"), "pass word")
        # Carried through without a widget of their own.
        self.assertEqual(s.get_data_item("nobsdcomp"), "yes")
        self.assertEqual(s.props.timeout, 90)
        win.destroy()

    def test_invalid_gateway_is_an_error_naming_it(self):
        c = self.p.import_(ppp_tree())
        ed, win, w = self.open(c)
        for bad, words in (("", "missing required option “gateway”"), ("bad gateway!", "invalid gateway")):
            w["gateway_entry"].set_text(bad)
            with self.assertRaises(GLib.Error) as e:
                ed.update_connection(c)
            self.assertEqual(e.exception.domain, "nm-connection-error-quark")
            self.assertIn(words, e.exception.message)
            self.assertIn("error", css_classes(w["gateway_entry"]))
        self.assertEqual(vpn_data(c)["gateway"], "198.18.0.2", "a failed update must not touch the connection")
        w["gateway_entry"].set_text("198.18.0.2")
        self.assertTrue(ed.update_connection(c))
        self.assertNotIn("error", css_classes(w["gateway_entry"]))
        win.destroy()

    def test_screenshots(self):
        os.makedirs(SHOTS, exist_ok=True)
        c = self.p.import_(ppp_tree())
        ed = self.p.get_editor(c)
        win = window(ed.get_widget())
        pump(0.8)
        xid = subprocess.run(["xdotool", "search", "--name", "^PPTP connection$"],
                             capture_output=True, text=True).stdout.split()
        self.assertTrue(xid, "the editor window is not on the display")
        for name, expanded in ((f"{SHOT_PREFIX}-general.png", False), (f"{SHOT_PREFIX}-advanced.png", True)):
            widgets(ed.get_widget())["advanced_expander"].set_expanded(expanded)
            win.set_default_size(560, -1)
            pump(0.8)
            path = os.path.join(SHOTS, name)
            subprocess.run(["import", "-window", xid[-1], path], check=True)
            self.assertGreater(os.path.getsize(path), 5000)
        win.destroy()


if __name__ == "__main__":
    unittest.main(verbosity=2)
