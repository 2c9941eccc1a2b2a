//! A raw IPv4 socket for IP protocol 47, connected to the server so the kernel
//! only hands us that peer's packets. Linux delivers the IPv4 header with every
//! packet; it is stripped here. The batch calls move up to [`BATCH`] packets
//! per system call (recvmmsg/sendmmsg).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;

/// Packets per recvmmsg/sendmmsg call.
pub const BATCH: usize = 64;

pub struct GreSocket {
    fd: AsyncFd<Socket>,
}

impl GreSocket {
    /// A socket for the GRE packets `server` sends to `call_id`. Needs CAP_NET_RAW.
    pub fn connect(server: Ipv4Addr, call_id: u16) -> io::Result<Self> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47)))?;
        s.set_nonblocking(true)?;
        // Every raw GRE socket sees every GRE packet from its peer: with several
        // calls to one server (or a server with several clients behind one
        // address), each would wake for, copy and reject all the others'
        // traffic. The kernel drops those instead. The engine still checks the
        // call ID itself; this filter only saves work.
        s.attach_filter(&call_id_filter(call_id))?;
        s.connect(&SocketAddrV4::new(server, 0).into())?;
        // Large buffers absorb bursts while the other direction is busy.
        let _ = s.set_recv_buffer_size(4 << 20);
        let _ = s.set_send_buffer_size(4 << 20);
        // SAFETY: the socket is owned here and moves into the AsyncFd; nothing else
        // closes or reuses its descriptor while it is registered.
        let fd = unsafe { AsyncFd::register(s) }?;
        Ok(GreSocket { fd })
    }

    /// Receive one GRE packet into `buf`; returns the range of the GRE packet
    /// (IPv4 header removed).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<std::ops::Range<usize>> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| recv_raw(s.get_ref(), buf)) {
                Ok(Err(e)) if reported_by_icmp(&e) => continue,
                Ok(r) => {
                    let n = r?;
                    return strip_ipv4(buf, n);
                }
                Err(_would_block) => continue,
            }
        }
    }

    pub async fn send(&self, pkt: &[u8]) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|s| s.get_ref().send(pkt)) {
                Ok(r) => return r.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }
}

/// A classic BPF program for a raw IPv4 socket: keep a packet whose GRE call-ID
/// field (bytes 6–7 after the IPv4 header, RFC 2637 §4.1) is `call_id`.
fn call_id_filter(call_id: u16) -> [SockFilter; 5] {
    const LDX_MSH: u16 = 0xb1; // X = 4 * (packet[k] & 0x0f): the IPv4 header length
    const LDH_IND: u16 = 0x48; // A = the 16-bit big-endian value at X + k
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    [
        SockFilter::new(LDX_MSH, 0, 0, 0),
        SockFilter::new(LDH_IND, 0, 0, 6),
        SockFilter::new(JEQ_K, 0, 1, u32::from(call_id)),
        SockFilter::new(RET_K, 0, 0, u32::MAX),
        SockFilter::new(RET_K, 0, 0, 0),
    ]
}

/// The GRE packet inside a raw IPv4 datagram of `n` bytes, or why there is none.
fn strip_ipv4(buf: &[u8], n: usize) -> io::Result<std::ops::Range<usize>> {
    let ihl = match buf.first() {
        Some(b) if b >> 4 == 4 => ((b & 0x0F) as usize) * 4,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not an IPv4 packet",
            ))
        }
    };
    if ihl < 20 || ihl > n {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "truncated IPv4 header",
        ));
    }
    Ok(ihl..n)
}

impl GreSocket {
    /// Receive up to `bufs.len()` (at most [`BATCH`]) packets in one call, waiting
    /// for the first. `ranges[i]` is the GRE packet in `bufs[i]`; an empty range
    /// marks a datagram that was not a usable IPv4 packet.
    pub async fn recv_batch(
        &self,
        bufs: &mut [Vec<u8>],
        ranges: &mut [std::ops::Range<usize>],
    ) -> io::Result<usize> {
        let count = bufs.len().min(ranges.len()).min(BATCH);
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| recv_many(s.get_ref(), &mut bufs[..count], ranges)) {
                Ok(Err(e)) if reported_by_icmp(&e) => continue,
                Ok(r) => {
                    let got = r?;
                    // A short batch emptied the queue: saying so now saves the
                    // next call's EAGAIN (a packet arriving since is a new edge
                    // the reactor has yet to see, so nothing is missed).
                    if got < count {
                        guard.clear_ready();
                    }
                    for (buf, range) in bufs.iter().zip(ranges.iter_mut()).take(got) {
                        *range = strip_ipv4(buf, range.end).unwrap_or(0..0);
                    }
                    return Ok(got);
                }
                Err(_would_block) => continue,
            }
        }
    }

    /// Send `bufs[i][..lens[i]]` for every i, in as few calls as the kernel allows.
    /// Sends every packet it can: one the kernel refuses (a local firewall's
    /// drop is EPERM, a full queue ENOBUFS) is left out, as if lost on the
    /// wire, and the rest of the batch still goes. The first refusal is returned
    /// once all were tried.
    pub async fn send_batch(&self, bufs: &[Vec<u8>], lens: &[usize]) -> io::Result<()> {
        let mut done = 0;
        let mut refused = None;
        while done < lens.len() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|s| send_many(s.get_ref(), &bufs[done..], &lens[done..])) {
                Ok(Ok(n)) => done += n,
                // sendmmsg fails only when the first message does: skip it.
                Ok(Err(e)) => {
                    done += 1;
                    refused.get_or_insert(e);
                }
                Err(_would_block) => continue,
            }
        }
        refused.map_or(Ok(()), Err)
    }
}

/// The iovec and mmsghdr arrays of one recvmmsg/sendmmsg call, one buffer per
/// message. The messages point into `iov`, so the value must stay where
/// `point_at` filled it until the call returns.
struct MsgHeaders {
    iov: [libc::iovec; BATCH],
    msgs: [libc::mmsghdr; BATCH],
}

impl MsgHeaders {
    fn zeroed() -> Self {
        // SAFETY: all-zero iovec and mmsghdr values are valid (null pointers, zero lengths).
        unsafe { std::mem::zeroed() }
    }

    /// Points message i at buffer i (at most BATCH); returns how many.
    fn point_at(&mut self, bufs: impl Iterator<Item = (*mut libc::c_void, usize)>) -> usize {
        let mut n = 0;
        for (i, (base, len)) in bufs.take(BATCH).enumerate() {
            self.iov[i].iov_base = base;
            self.iov[i].iov_len = len;
            self.msgs[i].msg_hdr.msg_iov = &mut self.iov[i];
            self.msgs[i].msg_hdr.msg_iovlen = 1;
            n = i + 1;
        }
        n
    }
}

/// Whether a receive error is one the kernel stored from an ICMP error about our
/// packets (destination, protocol or port unreachable, fragmentation needed,
/// parameter problem, time exceeded): Linux reports those hard errors on the next
/// receive of a connected raw socket. Any host that knows the two addresses can
/// forge them, so they say nothing about the socket or the path: the receive
/// skips them and goes on reading. A path that really is gone shows as the
/// server's silence, which the engine's echo and call timers judge.
fn reported_by_icmp(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNREFUSED
                | libc::ENOPROTOOPT
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EMSGSIZE
                | libc::EPROTO
                | libc::EOPNOTSUPP
        )
    )
}

/// One recvmmsg call; sets `ranges[i]` to `0..length` of each datagram received.
fn recv_many(
    s: &Socket,
    bufs: &mut [Vec<u8>],
    ranges: &mut [std::ops::Range<usize>],
) -> io::Result<usize> {
    let mut h = MsgHeaders::zeroed();
    let n = h.point_at(
        bufs.iter_mut()
            .take(ranges.len())
            .map(|b| (b.as_mut_ptr().cast(), b.len())),
    );
    // SAFETY: the messages point at live, exclusively borrowed buffers of the
    // stated lengths for the duration of the call.
    let got = unsafe {
        libc::recvmmsg(
            s.as_raw_fd(),
            h.msgs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    for (range, msg) in ranges.iter_mut().zip(&h.msgs).take(got as usize) {
        *range = 0..msg.msg_len as usize;
    }
    Ok(got as usize)
}

/// One sendmmsg call; returns how many packets the kernel took.
fn send_many(s: &Socket, bufs: &[Vec<u8>], lens: &[usize]) -> io::Result<usize> {
    let mut h = MsgHeaders::zeroed();
    let n = h.point_at(
        bufs.iter()
            .zip(lens)
            .map(|(b, &l)| (b.as_ptr() as *mut libc::c_void, l.min(b.len()))),
    );
    // SAFETY: the kernel only reads the buffers, which outlive the call.
    let sent = unsafe {
        libc::sendmmsg(
            s.as_raw_fd(),
            h.msgs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT,
        )
    };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

fn recv_raw(s: &Socket, buf: &mut [u8]) -> io::Result<usize> {
    // socket2's recv wants MaybeUninit; a plain recv(2) on an initialised buffer is simpler.
    // SAFETY: `buf` is a writable slice of `buf.len()` bytes for the whole call; recv(2) writes at most that many.
    let n = unsafe { libc::recv(s.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moves this thread into a new network namespace with loopback up, or
    /// says why the test is skipped (it needs root, so it is gated).
    fn in_a_namespace_of_our_own() -> bool {
        if std::env::var_os("NM_PPTP_SYSTEM_TESTS").is_none_or(|v| v != "1") {
            eprintln!("skipped: needs a raw socket in a namespace of its own (root); set NM_PPTP_SYSTEM_TESTS=1");
            return false;
        }
        // SAFETY: unshare only changes this thread's namespace membership.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare");
        let lo = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .unwrap();
        assert!(lo.success());
        true
    }

    /// A packet the kernel refuses in the middle of a batch costs that packet
    /// only: the ones after it still leave, and the refusal is reported.
    #[tokio::test]
    async fn a_refused_packet_does_not_take_the_rest_of_the_batch() {
        if !in_a_namespace_of_our_own() {
            return;
        }
        let listener = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47))).unwrap();
        listener
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let gre = GreSocket::connect(Ipv4Addr::LOCALHOST, 0x0102).unwrap();
        // The middle one is larger than any IPv4 datagram: EMSGSIZE.
        let bufs = vec![
            vec![1u8; 40],
            vec![2u8; 70_000],
            vec![3u8; 40],
            vec![4u8; 40],
        ];
        let lens: Vec<usize> = bufs.iter().map(Vec::len).collect();
        let e = gre.send_batch(&bufs, &lens).await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EMSGSIZE), "{e}");
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = recv_raw(&listener, &mut buf) {
            // The byte after the 20-byte IPv4 header says which packet it was.
            got.push(buf[20]);
            if n == 0 || got.len() == 3 {
                break;
            }
        }
        assert_eq!(got, [1, 3, 4]);
    }

    /// An ICMP "protocol unreachable" from `from` about a GRE packet we sent it:
    /// what an off-path attacker who knows the two addresses can forge.
    fn forged_icmp_unreachable(from: Ipv4Addr, to: Ipv4Addr) -> Vec<u8> {
        fn checksum(b: &[u8]) -> [u8; 2] {
            let mut sum: u32 = b
                .chunks(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
                .sum();
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            (!(sum as u16)).to_be_bytes()
        }
        let ipv4 = |src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u16| {
            let mut h = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
            h[2..4].copy_from_slice(&len.to_be_bytes());
            h.extend_from_slice(&src.octets());
            h.extend_from_slice(&dst.octets());
            let c = checksum(&h);
            h[10..12].copy_from_slice(&c);
            h
        };
        // The quoted packet: our GRE header to `from`.
        let mut quoted = ipv4(to, from, 47, 20 + 8);
        quoted.extend_from_slice(&[0x30, 0x01, 0x88, 0x0b, 0, 0, 0x12, 0x34]);
        // Type 3 (destination unreachable), code 2 (protocol unreachable).
        let mut icmp = vec![3, 2, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&quoted);
        let c = checksum(&icmp);
        icmp[2..4].copy_from_slice(&c);
        let mut pkt = ipv4(from, to, 1, (20 + icmp.len()) as u16);
        pkt.extend_from_slice(&icmp);
        pkt
    }

    /// A flood of forged ICMP errors about our GRE packets is not a receive
    /// failure: the socket keeps handing over the peer's GRE packets.
    #[tokio::test]
    async fn forged_icmp_errors_do_not_reach_the_reader() {
        if !in_a_namespace_of_our_own() {
            return;
        }
        let (ours, peer) = (Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2));
        let gre = GreSocket::connect(peer, 0x1234).unwrap();
        // IPPROTO_RAW: we write the whole IPv4 header, so the source is the peer's.
        let forger = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(255))).unwrap();
        let icmp = forged_icmp_unreachable(peer, ours);
        for _ in 0..200 {
            forger
                .send_to(&icmp, &SocketAddrV4::new(ours, 0).into())
                .unwrap();
        }
        let mut buf = [0u8; 2048];
        // The kernel did store them: a plain recv(2) on a socket like ours fails.
        let plain = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47))).unwrap();
        plain.connect(&SocketAddrV4::new(peer, 0).into()).unwrap();
        plain
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        forger
            .send_to(&icmp, &SocketAddrV4::new(ours, 0).into())
            .unwrap();
        let e = recv_raw(&plain, &mut buf).unwrap_err();
        assert!(reported_by_icmp(&e), "unexpected error {e}");

        let sender = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47))).unwrap();
        sender.bind(&SocketAddrV4::new(peer, 0).into()).unwrap();
        sender
            .send_to(
                &[0x30, 0x01, 0x88, 0x0b, 0, 0, 0x12, 0x34, 0, 0, 0, 7],
                &SocketAddrV4::new(ours, 0).into(),
            )
            .unwrap();
        let wait = std::time::Duration::from_secs(2);
        let r = tokio::time::timeout(wait, gre.recv(&mut buf))
            .await
            .expect("the GRE packet after the ICMP flood was not received")
            .expect("an ICMP error reached the reader");
        assert_eq!(buf[r][8..12], [0, 0, 0, 7]);
        // The batch receive skips them too.
        for _ in 0..200 {
            forger
                .send_to(&icmp, &SocketAddrV4::new(ours, 0).into())
                .unwrap();
        }
        sender
            .send_to(
                &[0x30, 0x01, 0x88, 0x0b, 0, 0, 0x12, 0x34, 0, 0, 0, 8],
                &SocketAddrV4::new(ours, 0).into(),
            )
            .unwrap();
        let mut bufs = vec![vec![0u8; 2048]; 4];
        let mut ranges = vec![0..0; 4];
        let n = tokio::time::timeout(wait, gre.recv_batch(&mut bufs, &mut ranges))
            .await
            .expect("the GRE packet after the second flood was not received")
            .expect("an ICMP error reached the batch reader");
        assert_eq!(n, 1);
        assert_eq!(bufs[0][ranges[0].clone()][8..12], [0, 0, 0, 8]);
    }

    /// Two calls from one peer address: each socket gets its own call's packets
    /// and never the other's.
    #[tokio::test]
    async fn each_socket_gets_only_its_call_ids_packets() {
        if !in_a_namespace_of_our_own() {
            return;
        }
        let ours = GreSocket::connect(Ipv4Addr::LOCALHOST, 0x1234).unwrap();
        let other = GreSocket::connect(Ipv4Addr::LOCALHOST, 0x5678).unwrap();
        let sender = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47))).unwrap();
        sender
            .connect(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0).into())
            .unwrap();
        for id in [0x5678u16, 0x1234, 0x5678] {
            let [hi, lo] = id.to_be_bytes();
            sender
                .send(&[0x30, 0x01, 0x88, 0x0b, 0, 0, hi, lo, 0, 0, 0, 1])
                .unwrap();
        }
        let wait = std::time::Duration::from_secs(2);
        let mut buf = [0u8; 2048];
        let r = tokio::time::timeout(wait, ours.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(buf[r][6..8], [0x12, 0x34]);
        let quiet = std::time::Duration::from_millis(300);
        assert!(tokio::time::timeout(quiet, ours.recv(&mut buf))
            .await
            .is_err());
        for _ in 0..2 {
            let r = tokio::time::timeout(wait, other.recv(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(buf[r][6..8], [0x56, 0x78]);
        }
    }
}
