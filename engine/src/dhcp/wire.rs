//! DHCP's wire format for the INFORM exchange: the INFORM we send (inside its
//! UDP and IPv4 headers), the DHCPACK decoded (options 1, 3, 6, 15, 44, 121,
//! 249, 54), and the server side's answer for the lab's test server.

use std::net::Ipv4Addr;

use super::{Pushed, Route};
use crate::ipv4::{header_checksum, transport_checksum};
use crate::wire::{DecodeError, Reader};

pub(super) const WHAT: &str = "DHCP reply";
pub(super) const UDP: u8 = 17;
pub(super) const SERVER_PORT: u16 = 67;
pub(super) const CLIENT_PORT: u16 = 68;
pub(super) const BOOTREQUEST: u8 = 1;
pub(super) const BOOTREPLY: u8 = 2;
pub(super) const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// BOOTP's fixed part: op .. file, before the magic cookie.
pub(super) const FIXED: usize = 236;

pub(super) const OPT_PAD: u8 = 0;
pub(super) const OPT_SUBNET_MASK: u8 = 1;
pub(super) const OPT_ROUTER: u8 = 3;
pub(super) const OPT_DNS: u8 = 6;
pub(super) const OPT_DOMAIN: u8 = 15;
pub(super) const OPT_NETBIOS_NS: u8 = 44;
pub(super) const OPT_MESSAGE_TYPE: u8 = 53;
pub(super) const OPT_PARAMS: u8 = 55;
pub(super) const OPT_VENDOR_CLASS: u8 = 60;
pub(super) const OPT_CLIENT_ID: u8 = 61;
pub(super) const OPT_USER_CLASS: u8 = 77;
pub(super) const OPT_CLASSLESS_ROUTES: u8 = 121;
pub(super) const OPT_SERVER_ID: u8 = 54;
pub(super) const OPT_MS_CLASSLESS_ROUTES: u8 = 249;
pub(super) const OPT_END: u8 = 255;
pub(super) const DHCPACK: u8 = 5;
pub(super) const DHCPINFORM: u8 = 8;

/// More than any real server pushes; the rest are ignored.
pub const MAX_ROUTES: usize = 64;
pub(super) const MAX_SERVERS: usize = 4;

pub(super) fn encode_inform(local: Ipv4Addr, xid: u32, mac: [u8; 6], ip_id: u16) -> Vec<u8> {
    let mut dhcp = vec![0u8; FIXED];
    dhcp[0] = BOOTREQUEST;
    dhcp[1] = 1; // Ethernet-style 6-byte client hardware address
    dhcp[2] = 6;
    dhcp[4..8].copy_from_slice(&xid.to_be_bytes());
    dhcp[12..16].copy_from_slice(&local.octets());
    dhcp[28..34].copy_from_slice(&mac);
    dhcp.extend_from_slice(&MAGIC);
    let mut opt = |code: u8, value: &[u8]| {
        dhcp.push(code);
        dhcp.push(value.len() as u8);
        dhcp.extend_from_slice(value);
    };
    opt(OPT_MESSAGE_TYPE, &[DHCPINFORM]);
    let mut client_id = vec![1];
    client_id.extend_from_slice(&mac);
    opt(OPT_CLIENT_ID, &client_id);
    opt(OPT_VENDOR_CLASS, b"MSFT 5.0");
    opt(OPT_USER_CLASS, b"RRAS.Microsoft");
    opt(
        OPT_PARAMS,
        &[
            OPT_SUBNET_MASK,
            OPT_ROUTER,
            OPT_DNS,
            OPT_DOMAIN,
            OPT_NETBIOS_NS,
            OPT_CLASSLESS_ROUTES,
            OPT_MS_CLASSLESS_ROUTES,
        ],
    );
    dhcp.push(OPT_END);
    // BOOTP's minimum message; some relays drop shorter ones.
    dhcp.resize(dhcp.len().max(300), OPT_PAD);

    udp_datagram(
        local,
        Ipv4Addr::BROADCAST,
        CLIENT_PORT,
        SERVER_PORT,
        &dhcp,
        ip_id,
    )
}

/// An IPv4 UDP datagram carrying `payload`, both checksums filled in.
pub(super) fn udp_datagram(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
    ip_id: u16,
) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    // 0 means "no checksum" in UDP over IPv4, so a computed 0 is sent as all ones.
    let sum = match transport_checksum(src.octets(), dst.octets(), UDP, &udp) {
        0 => 0xFFFF,
        s => s,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    let mut ip = vec![0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + udp_len) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&ip_id.to_be_bytes());
    ip[8] = 64;
    ip[9] = UDP;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let sum = header_checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(&udp);
    ip
}

/// The server's side (the engine's test server and `pptp-testpeer`): when `ip`
/// is a DHCPINFORM, the DHCPACK that pushes `push`, from `server` to the
/// client's ciaddr.
pub fn answer_inform(ip: &[u8], server: Ipv4Addr, push: &Pushed) -> Option<Vec<u8>> {
    let (src, _, udp) = udp_payload_of(ip)?;
    if udp.len() < 8 + FIXED + 4 || udp[..4] != [0, 68, 0, 67] || udp[8] != BOOTREQUEST {
        return None;
    }
    let request = &udp[8..];
    let opts = Options::parse(request.get(FIXED + 4..)?).ok()?;
    if opts.get(OPT_MESSAGE_TYPE) != Some(&[DHCPINFORM]) || request[12..16] != src.octets() {
        return None;
    }
    let mut dhcp = vec![0u8; FIXED];
    dhcp[0] = BOOTREPLY;
    dhcp[1..3].copy_from_slice(&request[1..3]);
    dhcp[4..8].copy_from_slice(&request[4..8]);
    dhcp[12..16].copy_from_slice(&src.octets());
    dhcp[28..44].copy_from_slice(&request[28..44]);
    dhcp.extend_from_slice(&MAGIC);
    let mut put = |code: u8, value: &[u8]| {
        // Long values in parts (RFC 3396).
        for part in value.chunks(255) {
            dhcp.push(code);
            dhcp.push(part.len() as u8);
            dhcp.extend_from_slice(part);
        }
    };
    put(OPT_MESSAGE_TYPE, &[DHCPACK]);
    put(OPT_SERVER_ID, &server.octets());
    if !push.routes.is_empty() {
        let mut v = Vec::new();
        for r in &push.routes {
            v.push(r.prefix);
            v.extend_from_slice(&r.dest.octets()[..usize::from(r.prefix).div_ceil(8)]);
            v.extend_from_slice(&[0; 4]);
        }
        put(OPT_CLASSLESS_ROUTES, &v);
        put(OPT_MS_CLASSLESS_ROUTES, &v);
    }
    if let Some(d) = &push.domain {
        put(OPT_DOMAIN, d.as_bytes());
    }
    for (code, list) in [(OPT_DNS, &push.dns), (OPT_NETBIOS_NS, &push.wins)] {
        if !list.is_empty() {
            put(
                code,
                &list.iter().flat_map(|a| a.octets()).collect::<Vec<u8>>(),
            );
        }
    }
    dhcp.push(OPT_END);
    Some(udp_datagram(
        server,
        src,
        SERVER_PORT,
        CLIENT_PORT,
        &dhcp,
        0,
    ))
}

/// `None` unless `ip` is a UDP datagram from port 67 to port 68 of `local` (or
/// broadcast) with transaction `xid`; then the DHCPACK decoded, or why not.
/// It must come from its own server identifier or from `peer`, the server's
/// end of the link (a relay such as Windows RRAS forwards the DHCP server's
/// answer from there).
pub fn decode_reply(
    ip: &[u8],
    local: Ipv4Addr,
    peer: Ipv4Addr,
    xid: u32,
) -> Option<Result<Pushed, DecodeError>> {
    let (src, dst, udp) = udp_payload_of(ip)?;
    if dst != local && dst != Ipv4Addr::BROADCAST {
        return None;
    }
    let mut r = Reader::new(WHAT, udp);
    let (sport, dport, len, sum) = (
        r.u16().ok()?,
        r.u16().ok()?,
        r.u16().ok()? as usize,
        r.u16().ok()?,
    );
    if sport != SERVER_PORT || dport != CLIENT_PORT {
        return None;
    }
    if udp.len() < FIXED + 8 || udp[8] != BOOTREPLY || udp[12..16] != xid.to_be_bytes() {
        return None;
    }
    // Ours from here on: what is wrong with it is an error, not someone else's packet.
    Some(
        decode_ours(src, dst, udp, len, sum).and_then(|(pushed, id)| {
            if src == peer || id == Some(src) {
                Ok(pushed)
            } else {
                Err(DecodeError::BadField {
                    what: WHAT,
                    field: "source address (neither the server identifier nor the link's peer)",
                    value: u32::from(src),
                })
            }
        }),
    )
}

pub(super) fn decode_ours(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    udp: &[u8],
    len: usize,
    sum: u16,
) -> Result<(Pushed, Option<Ipv4Addr>), DecodeError> {
    if len < 8 || len > udp.len() {
        return Err(DecodeError::BadLength { what: WHAT, len });
    }
    let udp = &udp[..len];
    if sum != 0 && transport_checksum(src.octets(), dst.octets(), UDP, udp) != 0 {
        return Err(DecodeError::BadField {
            what: WHAT,
            field: "UDP checksum",
            value: u32::from(sum),
        });
    }
    let mut r = Reader::new(WHAT, &udp[8..]);
    r.bytes(FIXED)?;
    let magic = r.array::<4>()?;
    if magic != MAGIC {
        return Err(DecodeError::BadField {
            what: WHAT,
            field: "magic cookie",
            value: u32::from_be_bytes(magic),
        });
    }
    let opts = Options::parse(r.rest())?;
    match opts.get(OPT_MESSAGE_TYPE) {
        Some([DHCPACK]) => {}
        other => {
            return Err(DecodeError::BadField {
                what: WHAT,
                field: "message type",
                value: other.and_then(|v| v.first()).map_or(0, |&t| u32::from(t)),
            })
        }
    }
    let routes = match opts.get(OPT_CLASSLESS_ROUTES) {
        Some(v) => classless_routes(v)?,
        None => match opts.get(OPT_MS_CLASSLESS_ROUTES) {
            Some(v) => classless_routes(v)?,
            None => Vec::new(),
        },
    };
    let server_id = opts
        .get(OPT_SERVER_ID)
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
        .map(Ipv4Addr::from);
    let pushed = Pushed {
        routes,
        domain: opts.get(OPT_DOMAIN).and_then(domain),
        dns: opts
            .get(OPT_DNS)
            .map(addresses)
            .transpose()?
            .unwrap_or_default(),
        wins: opts
            .get(OPT_NETBIOS_NS)
            .map(addresses)
            .transpose()?
            .unwrap_or_default(),
    };
    Ok((pushed, server_id))
}

/// Source, destination and payload of an unfragmented IPv4 UDP datagram.
pub(super) fn udp_payload_of(ip: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, &[u8])> {
    let &vihl = ip.first()?;
    let ihl = usize::from(vihl & 0x0F) * 4;
    if vihl >> 4 != 4 || ihl < 20 || ip.len() < ihl || ip[9] != UDP {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    // More-fragments or an offset: not a whole datagram (a reply fits in one).
    if total < ihl || total > ip.len() || frag & 0x3FFF != 0 {
        return None;
    }
    let addr = |at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
    Some((addr(12), addr(16), &ip[ihl..total]))
}

/// The options area, each code's values concatenated in order (RFC 3396: a
/// long option comes split in parts).
pub(super) struct Options(Vec<(u8, Vec<u8>)>);

impl Options {
    pub(super) fn parse(mut area: &[u8]) -> Result<Self, DecodeError> {
        let mut found: Vec<(u8, Vec<u8>)> = Vec::new();
        while let Some((&code, rest)) = area.split_first() {
            match code {
                OPT_PAD => area = rest,
                OPT_END => break,
                _ => {
                    let mut r = Reader::new(WHAT, rest);
                    let len = r.u8()? as usize;
                    let value = r.bytes(len)?;
                    area = r.rest();
                    match found.iter_mut().find(|(c, _)| *c == code) {
                        Some((_, joined)) => joined.extend_from_slice(value),
                        None => found.push((code, value.to_vec())),
                    }
                }
            }
        }
        Ok(Options(found))
    }

    pub(super) fn get(&self, code: u8) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }
}

/// RFC 3442: width, the significant octets of the destination, the router.
pub(super) fn classless_routes(mut v: &[u8]) -> Result<Vec<Route>, DecodeError> {
    let mut routes = Vec::new();
    while !v.is_empty() {
        let mut r = Reader::new("DHCP classless route", v);
        let prefix = r.u8()?;
        if prefix > 32 {
            return Err(DecodeError::BadField {
                what: "DHCP classless route",
                field: "prefix length",
                value: u32::from(prefix),
            });
        }
        let significant = usize::from(prefix).div_ceil(8);
        let mut dest = [0u8; 4];
        dest[..significant].copy_from_slice(r.bytes(significant)?);
        let _router = r.array::<4>()?;
        v = r.rest();
        // Bits past the prefix mean nothing; a route is to the network.
        let mask = crate::ipv4::prefix_mask(prefix);
        let dest = Ipv4Addr::from(u32::from_be_bytes(dest) & mask);
        // Unroutable only when the whole route lies in 0/8, 127/8 or 224/3
        // (multicast, reserved, broadcast): 0.0.0.0/1 is half the address space,
        // for route_policy to judge, not "this network".
        let first = dest.octets()[0];
        let routable =
            !((prefix >= 8 && (first == 0 || first == 127)) || (prefix >= 3 && first >= 224));
        if prefix > 0 && routable && routes.len() < MAX_ROUTES {
            routes.push(Route { dest, prefix });
        }
    }
    Ok(routes)
}

pub(super) fn addresses(v: &[u8]) -> Result<Vec<Ipv4Addr>, DecodeError> {
    if v.is_empty() || !v.len().is_multiple_of(4) {
        return Err(DecodeError::BadLength {
            what: "DHCP address list",
            len: v.len(),
        });
    }
    Ok(v.chunks_exact(4)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .filter(|a| !a.is_unspecified() && !a.is_broadcast())
        .take(MAX_SERVERS)
        .collect())
}

/// A domain name as DNS spells it; anything else (Windows pads with NUL) is cut
/// or refused.
pub(super) fn domain(v: &[u8]) -> Option<String> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    let name = std::str::from_utf8(&v[..end]).ok()?.trim_end_matches('.');
    let good = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    good.then(|| name.to_ascii_lowercase())
}
