//! A raw IPv4 socket for IP protocol 47, connected to the server so the kernel
//! only hands us that peer's packets. Linux delivers the IPv4 header with every
//! packet; it is stripped here.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;

pub struct GreSocket {
    fd: AsyncFd<Socket>,
}

impl GreSocket {
    /// Needs CAP_NET_RAW.
    pub fn connect(server: Ipv4Addr) -> io::Result<Self> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47)))?;
        s.set_nonblocking(true)?;
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
                Ok(r) => {
                    let n = r?;
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
                    return Ok(ihl..n);
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

fn recv_raw(s: &Socket, buf: &mut [u8]) -> io::Result<usize> {
    // socket2's recv wants MaybeUninit; a plain recv(2) on an initialised buffer is simpler.
    let n = unsafe { libc::recv(s.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
