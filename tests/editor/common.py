"""Loading our plugin the way every host does: libnm reads a .name file and
loads the [libnm] plugin= library (NM.VpnPluginInfo + load_editor_plugin)."""
import os
import tempfile

import gi

gi.require_version("NM", "1.0")
from gi.repository import NM  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBDIR = os.environ.get("EDITOR_LIBDIR", os.path.join(ROOT, "target", "debug"))
SERVICE = "org.freedesktop.NetworkManager.pptp"

# The seed's layout, from the guide users followed.
PEERS_PAL = 'pty "pptp 198.18.0.2 --nolaunchpppd"\nname alice\nremotename PPTP\n' \
            'file /etc/ppp/options.pptp\nipparam tunnel\n'
OPTIONS_PPTP = "lock noauth nobsdcomp nodeflate require-mppe mppe-stateful\n"
CHAP_SECRETS = '# Secrets for authentication using CHAP\n# client\tserver\tsecret\t\t\tIP addresses\n' \
               'alice\tPPTP\t"pass word"\t*\nPPTP\talice\t"pass word"\t*\n'


def plugin():
    d = tempfile.mkdtemp(prefix="nm-pptp-name-")
    name = os.path.join(d, "nm-pptp-service.name")
    with open(name, "w") as f:
        f.write(f"[VPN Connection]\nname=pptp\nservice={SERVICE}\nprogram=/usr/libexec/nm-pptp-service\n"
                f"supports-multiple-connections=true\n\n[libnm]\n"
                f"plugin={os.path.join(LIBDIR, 'libnm_vpn_plugin_pptp.so')}\n")
    info = NM.VpnPluginInfo.new_from_file(name)
    return info.load_editor_plugin()


def ppp_tree(peers=PEERS_PAL, options=OPTIONS_PPTP, secrets=CHAP_SECRETS, name="PAL"):
    """A /etc/ppp-like tree in a temporary directory; returns the peers file's path."""
    d = tempfile.mkdtemp(prefix="nm-pptp-ppp-")
    os.mkdir(os.path.join(d, "peers"))
    for rel, text in ((f"peers/{name}", peers), ("options.pptp", options), ("chap-secrets", secrets)):
        if text is not None:
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
    os.chmod(os.path.join(d, "chap-secrets"), 0o600) if secrets is not None else None
    return os.path.join(d, "peers", name)


def vpn_data(conn):
    s = conn.get_setting_vpn()
    return {k: s.get_data_item(k) for k in s.get_data_keys()}
