#!/usr/bin/python3
"""libnm-vpn-plugin-pptp.so loaded through real libnm: properties, capabilities,
import of pppd peers files, export, and bad files. Run with Debian's python3
(python3-gi): `/usr/bin/python3 tests/editor/plugin_test.py`."""
import ctypes
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import NM, SERVICE, plugin, ppp_tree, vpn_data  # noqa: E402
from gi.repository import GLib  # noqa: E402

# The secure defaults (MS-CHAPv2 only, 128-bit MPPE required) are written out,
# so that NetworkManager-pptp and plasma-nm read the same connection.
SEED_DATA = {
    "gateway": "198.18.0.2",
    "user": "alice",
    "refuse-pap": "yes",
    "refuse-chap": "yes",
    "refuse-eap": "yes",
    "refuse-mschap": "yes",
    "require-mppe": "yes",
    "require-mppe-128": "yes",
    "mppe-stateful": "yes",
    "nobsdcomp": "yes",
    "nodeflate": "yes",
}


class Plugin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = plugin()

    def test_properties_and_capabilities(self):
        self.assertEqual(self.p.props.name, "Point-to-Point Tunneling Protocol (PPTP)")
        self.assertEqual(self.p.props.description, "Compatible with Microsoft and other PPTP VPN servers.")
        self.assertEqual(self.p.props.service, SERVICE)
        caps = self.p.get_capabilities()
        self.assertEqual(int(caps), int(NM.VpnEditorPluginCapability.IMPORT | NM.VpnEditorPluginCapability.EXPORT))

    def test_suggested_filename(self):
        c = self.p.import_(ppp_tree())
        c.get_setting_connection().props.id = "PAL office/2"
        self.assertEqual(self.p.get_suggested_filename(c), "PAL_office_2")

    def test_import_the_seed_layout(self):
        c = self.p.import_(ppp_tree())
        self.assertEqual(c.get_id(), "PAL")
        self.assertEqual(c.get_connection_type(), "vpn")
        s = c.get_setting_vpn()
        self.assertEqual(s.get_service_type(), SERVICE)
        self.assertEqual(vpn_data(c), SEED_DATA)
        # Saved with the connection: flags NONE, the default, so not written.
        self.assertIn(s.get_data_item("password-flags"), (None, "0"))
        self.assertEqual(s.get_secret("password"), "pass word")
        self.assertEqual(list(s.get_secret_keys()), ["password"])
        self.assertTrue(c.verify())

    def test_import_sourceforge_spelling(self):
        c = self.p.import_(ppp_tree(options="lock noauth nobsdcomp nodeflate\nmppe-40 mppe-128 mppe-stateless\n"))
        d = vpn_data(c)
        # The patch's `mppe-40`/`mppe-128` are pppd 2.4's require-mppe-40/128:
        # both together allow either strength.
        self.assertEqual(d.get("require-mppe-40"), "yes")
        self.assertEqual(d.get("require-mppe-128"), "yes")
        self.assertNotIn("mppe-stateful", d)
        c = self.p.import_(ppp_tree(options="mppe-128\n"))
        self.assertEqual(vpn_data(c).get("require-mppe-128"), "yes")
        self.assertNotIn("require-mppe-40", vpn_data(c))

    def test_unreadable_or_missing_secret_leaves_the_password_out(self):
        c = self.p.import_(ppp_tree(secrets=None))
        self.assertEqual(vpn_data(c)["password-flags"], "2")
        self.assertIsNone(c.get_setting_vpn().get_secret("password"))
        c = self.p.import_(ppp_tree(secrets="bob * other *\n"))
        self.assertIsNone(c.get_setting_vpn().get_secret("password"))

    def test_domain_user_and_numbers(self):
        peers = 'pty "pptp vpn.example.com --nolaunchpppd"\nname "CORP\\\\alice"\nrefuse-pap refuse-eap\n' \
                'lcp-echo-interval 30 lcp-echo-failure 4 mtu 1400 unit 3 novj\n'
        d = vpn_data(self.p.import_(ppp_tree(peers=peers, secrets='"CORP\\\\alice" * x *\n')))
        self.assertEqual(d["domain"], "CORP")
        self.assertEqual(d["user"], "alice")
        for k, v in {"lcp-echo-interval": "30", "lcp-echo-failure": "4",
                     "mtu": "1400", "unit": "3", "no-vj-comp": "yes"}.items():
            self.assertEqual(d[k], v, k)

    def test_plain_peers_file_is_secure_and_opt_ins_travel_as_comments(self):
        d = vpn_data(self.p.import_(ppp_tree(options="lock noauth\n")))
        self.assertEqual(d["refuse-pap"], "yes")  # the default, spelled out
        self.assertEqual(d["require-mppe"], "yes")
        self.assertEqual(d["require-mppe-128"], "yes")
        d = vpn_data(self.p.import_(ppp_tree(options="# nm-pptp: refuse-pap=no\nnomppe\n")))
        self.assertEqual(d["refuse-pap"], "no")
        self.assertEqual(d["require-mppe"], "no")
        c = self.p.import_(ppp_tree(options="# nm-pptp: refuse-mschap=no\n"))
        out = ppp_tree(peers=None, options=None, name="EXPORTED")
        self.p.export(out, c)
        with open(out) as f:
            text = f.read()
        self.assertIn("# nm-pptp: refuse-mschap=no\n", text)
        self.assertIn("\nrefuse-pap\n", text)  # pppd is told what we refuse
        self.assertEqual(vpn_data(self.p.import_(out)), vpn_data(c))

    def test_echo_interval_alone_keeps_pppd_meaning(self):
        # pppd: echoes every 30 s, never ending the link. The import must not
        # write a failure count that turns echo off or on differently.
        d = vpn_data(self.p.import_(ppp_tree(options="lcp-echo-interval 30\n")))
        self.assertEqual(d["lcp-echo-interval"], "30")
        self.assertNotIn("lcp-echo-failure", d)
        # pppd accepts intervals longer than an hour; so does the import.
        d = vpn_data(self.p.import_(ppp_tree(options="lcp-echo-interval 7200\n")))
        self.assertEqual(d["lcp-echo-interval"], "7200")

    def test_export_uses_the_user_name_when_user_is_empty(self):
        c = self.p.import_(ppp_tree())
        s = c.get_setting_vpn()
        # libnm refuses empty data items; an empty `user` (possible over D-Bus)
        # is covered by export.rs's own test.
        s.remove_data_item("user")
        s.props.user_name = "bob"
        out = ppp_tree(peers=None, options=None, name="EXPORTED")
        self.p.export(out, c)
        with open(out) as f:
            self.assertIn('\nname "bob"\n', f.read())

    def test_export_then_import_gives_the_same_connection(self):
        for options in ("lock noauth nobsdcomp nodeflate require-mppe mppe-stateful\n",
                        "require-mppe-128 refuse-mschap lcp-echo-interval 10 lcp-echo-failure 3 mtu 1300\n",
                        "refuse-eap\n"):
            original = self.p.import_(ppp_tree(options=options))
            out = ppp_tree(peers=None, options=None, name="EXPORTED")
            self.p.export(out, original)
            with open(out) as f:
                text = f.read()
            self.assertNotIn("pass word", text, "the password must never be exported")
            again = self.p.import_(out)
            want = vpn_data(original)
            self.assertEqual(vpn_data(again), want, text)
            self.assertEqual(again.get_setting_vpn().get_secret("password"), "pass word")

    def test_routing_words_become_ipv4_settings_and_come_back(self):
        """nodefaultroute is ipv4.never-default and persist vpn.persistent; export
        writes them (and usepeerdns unless DNS is ignored) back; which way the
        import went is said on stderr."""
        c = self.p.import_(ppp_tree(options="nodefaultroute usepeerdns persist\n"))
        self.assertTrue(c.get_setting_ip4_config().props.never_default)
        self.assertTrue(c.get_setting_vpn().get_persistent())
        self.assertFalse(c.get_setting_ip4_config().props.ignore_auto_dns)
        self.assertTrue(c.verify())
        out = ppp_tree(peers=None, options=None, name="EXPORTED")
        self.p.export(out, c)
        with open(out) as f:
            text = f.read().split()
        self.assertIn("nodefaultroute", text)
        self.assertIn("usepeerdns", text)
        self.assertIn("persist", text)
        again = self.p.import_(out)
        self.assertTrue(again.get_setting_ip4_config().props.never_default)
        self.assertTrue(again.get_setting_vpn().get_persistent())
        # Neither word: a full tunnel (no ipv4 setting needed); ignoring DNS exports
        # without usepeerdns.
        c = self.p.import_(ppp_tree())
        self.assertFalse(c.get_setting_ip4_config() and c.get_setting_ip4_config().props.never_default)
        ip4 = NM.SettingIP4Config.new()
        ip4.props.method = "auto"
        ip4.props.ignore_auto_dns = True
        c.add_setting(ip4)
        self.p.export(out, c)
        with open(out) as f:
            text = f.read().split()
        self.assertIn("defaultroute", text)
        self.assertNotIn("usepeerdns", text)
        self.assertNotIn("persist", text)
        self.assertFalse(c.get_setting_vpn().get_persistent())
        # The notes, as `nmcli connection import` shows them.
        r = subprocess.run(
            ["/usr/bin/python3", "-c",
             "import sys; sys.path.insert(0, %r)\n"
             "from common import plugin, ppp_tree\n"
             "plugin().import_(ppp_tree(options='persist maxfail 0\\n'))" % os.path.dirname(os.path.abspath(__file__))],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("neither “defaultroute” nor “nodefaultroute”", r.stderr)
        self.assertNotIn("“persist”", r.stderr)
        self.assertIn("“maxfail 0” has no NetworkManager equivalent", r.stderr)

    def test_export_refuses_an_invalid_connection(self):
        c = self.p.import_(ppp_tree())
        c.get_setting_vpn().remove_data_item("gateway")
        with self.assertRaises(GLib.Error) as e:
            self.p.export(ppp_tree(peers=None, name="X"), c)
        self.assertIn("gateway", e.exception.message)

    def assert_refused(self, path, words):
        t = time.monotonic()
        with self.assertRaises(GLib.Error) as e:
            self.p.import_(path)
        self.assertLess(time.monotonic() - t, 2.0)
        self.assertEqual(e.exception.domain, "nm-connection-error-quark")
        self.assertIn(words, e.exception.message)

    def test_bad_files_are_clear_errors(self):
        self.assert_refused(ppp_tree(peers="hello world\n%%% garbage ###\n"), "no PPTP server found")
        binary = ppp_tree()
        with open(binary, "wb") as f:
            f.write(b"\x7fELF\x00\x01\x02" * 100)
        self.assert_refused(binary, "not a text file")
        self.assert_refused(ppp_tree(peers=PEERS_MISSING_INCLUDE), "no such file")
        huge = ppp_tree()
        with open(huge, "w") as f:
            f.write("# padding\n" * (1024 * 1024))
        self.assert_refused(huge, "too large")
        self.assert_refused("/nonexistent/peers/PAL", "no such file")
        self.assert_refused(ppp_tree(peers='pty "pptp bad!host --nolaunchpppd"\nname alice\n'), "gateway")


PEERS_MISSING_INCLUDE = 'pty "pptp 198.18.0.2 --nolaunchpppd"\nname alice\nfile /etc/ppp/options.missing\n'


class Gtk3Host(unittest.TestCase):
    def test_gtk3_process_loads_the_gtk3_editor_and_without_a_display_gets_an_error(self):
        # A child process with GTK 3 loaded but never initialised (no display
        # here): the GTK 3 editor library is the one loaded, and it says why it
        # cannot make a page instead of crashing. editor_test.py (EDITOR_GTK=3)
        # covers the page itself on Xvfb.
        code = ("import ctypes,sys; ctypes.CDLL('libgtk-3.so.0', mode=ctypes.RTLD_GLOBAL);"
                "sys.path.insert(0, %r); from common import plugin, ppp_tree; from gi.repository import GLib;"
                "p = plugin(); c = p.import_(ppp_tree())\n"
                "try:\n p.get_editor(c)\nexcept GLib.Error as e:\n print('ERROR', e.message)\n"
                "maps = open('/proc/self/maps').read()\n"
                "print('GTK3-EDITOR' if 'libnm_vpn_plugin_pptp_editor.so' in maps else '', "
                "'GTK4' if 'libgtk-4' in maps else '')\n"
                % os.path.dirname(os.path.abspath(__file__)))
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ERROR GTK is not initialised in this process", r.stdout)
        self.assertIn("GTK3-EDITOR", r.stdout)
        self.assertNotIn("GTK4", r.stdout)


if __name__ == "__main__":
    ctypes  # noqa: B018  (imported for the GTK 3 child's sake)
    unittest.main(verbosity=2)
