#!/usr/bin/env python3
"""Makes the lab's pptpd look like another vendor's server: a transparent proxy
for the PPTP control connection that rewrites what the server says.

Run in the client's namespace. An nftables rule there sends the client's TCP
to port 1723 to this proxy, which connects on to the real server (its own
connection marked so the rule lets it by); GRE goes straight to the server.
Each message from the server is parsed by its length field and rewritten by
the habits named on the command line:

    ctl_rewrite.py SERVER HABIT[,HABIT...]

    result0      Start-Control-Connection-Reply with result 0 ("certain ADSL
                 modems", which pptp-linux accepts) instead of 1
    reserved     a non-zero Reserved0 in every message (Cisco PIX)
    unknown      a management message (PPTP message type 2) and a control
                 message with an undefined code before each message
    sli          a Set-Link-Info with non-zero ACCMs after the call reply
    foreign_cdn  a Call-Disconnect-Notify for some other call after the call
                 reply

It prints "ready" once listening, then one line per rewrite, and removes its
nftables table when it ends (SIGTERM)."""
import signal
import socket
import struct
import subprocess
import sys
import threading

PORT = 1724
MARK = 0x71
TABLE = "ctlrewrite"


def message(pptp_type, code, body=b""):
    return struct.pack("!HHIHH", 12 + len(body), pptp_type, 0x1A2B3C4D, code, 0) + body


def say(line):
    print(line, flush=True)


def rewrite(msg, habits):
    code = struct.unpack("!H", msg[8:10])[0]
    out = b""
    if "unknown" in habits:
        out += message(2, 1) + message(1, 99, b"\0" * 4)
        say(f"unknown: a management message and code 99 before code {code}")
    if "reserved" in habits:
        msg = msg[:10] + b"\x5a\xa5" + msg[12:]
        say(f"reserved: Reserved0 5aa5 in code {code}")
    if code == 2 and "result0" in habits:
        msg = msg[:14] + b"\0" + msg[15:]
        say("result0: start-control-connection reply with result 0")
    out += msg
    if code == 8:
        server_call, client_call = struct.unpack("!HH", msg[12:16])
        if "sli" in habits:
            out += message(1, 15, struct.pack("!HHII", client_call, 0, 0xFFFFFFFF, 0x000A0000))
            say("sli: set-link-info with ACCMs ffffffff/000a0000")
        if "foreign_cdn" in habits:
            other = next(c for c in (server_call + 1, server_call + 2) if c & 0xFFFF != client_call) & 0xFFFF
            out += message(1, 13, struct.pack("!HBBHH", other, 3, 0, 0, 0) + b"\0" * 128)
            say(f"foreign_cdn: call-disconnect-notify for call {other}")
    return out


def pump_server(server, client, habits):
    buf = b""
    while True:
        data = server.recv(65536)
        if not data:
            break
        buf += data
        while len(buf) >= 2:
            length = struct.unpack("!H", buf[:2])[0]
            if length < 12 or len(buf) < length:
                break
            msg, buf = buf[:length], buf[length:]
            client.sendall(rewrite(msg, habits))
    client.shutdown(socket.SHUT_WR)


def pump(src, dst):
    while True:
        data = src.recv(65536)
        if not data:
            break
        dst.sendall(data)
    dst.shutdown(socket.SHUT_WR)


def nft(cmd):
    r = subprocess.run(["nft", cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"nft {cmd}: {r.stderr}")


def main():
    server_addr, habits = sys.argv[1], set(sys.argv[2].split(","))
    unknown = habits - {"result0", "reserved", "unknown", "sli", "foreign_cdn"}
    if unknown:
        sys.exit(f"unknown habit(s): {', '.join(sorted(unknown))}")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", PORT))
    listener.listen(4)
    nft(f"add table ip {TABLE}; add chain ip {TABLE} out {{ type nat hook output priority -100; }}; "
        f"add rule ip {TABLE} out ip daddr {server_addr} tcp dport 1723 meta mark != {MARK} redirect to :{PORT}")

    def end(*_):
        subprocess.run(["nft", f"delete table ip {TABLE}"], capture_output=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, end)
    say("ready")
    try:
        while True:
            client, _ = listener.accept()
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, MARK)
            server.settimeout(10)
            server.connect((server_addr, 1723))
            server.settimeout(None)
            threading.Thread(target=pump, args=(client, server), daemon=True).start()
            threading.Thread(target=pump_server, args=(server, client, habits), daemon=True).start()
    finally:
        end()


if __name__ == "__main__":
    main()
