//! The data path in batches: many packets per system call in both directions.
//!
//! TUN → GRE: one TUN read yields a TCP super-packet that is split into
//! MTU-sized segments; each is framed and encrypted, and the lot leaves in one
//! sendmmsg. GRE → TUN: one recvmmsg brings up to [`BATCH`] packets; each is
//! decrypted, and consecutive TCP segments are merged back into super-packets
//! before the TUN write, so the kernel's TCP stack sees few, large packets.

use std::ops::Range;
use std::time::Instant;

use tracing::debug;
use tun_rs::{AsyncDevice, GROTable, IDEAL_BATCH_SIZE, VIRTIO_NET_HDR_LEN};

use super::gre_socket::{GreSocket, BATCH};
use pptp_engine::session::{ControlSide, Session};

/// A GRE datagram on the wire: at most a 1500-byte MRU plus headers, with room
/// for a reassembled oversize one to be recognised rather than overrun.
const GRE_BUF: usize = 4096;
/// A segment from the TUN, or a packet for it before merging.
const PACKET_BUF: usize = 2048;

/// TUN → GRE.
pub struct Outbound {
    /// One raw TUN read: the virtio header and a super-packet.
    pub tun_raw: Vec<u8>,
    pub tun_in: Vec<Vec<u8>>,
    pub tun_in_sizes: Vec<usize>,
    gre_out: Vec<Vec<u8>>,
    gre_out_lens: Vec<usize>,
}

/// GRE → TUN.
pub struct Inbound {
    pub gre_in: Vec<Vec<u8>>,
    pub gre_in_ranges: Vec<Range<usize>>,
    tun_out: Vec<Vec<u8>>,
    gro: GROTable,
}

impl Outbound {
    pub fn new() -> Self {
        Outbound {
            tun_raw: vec![0; VIRTIO_NET_HDR_LEN + 65535],
            tun_in: vec![vec![0; PACKET_BUF]; IDEAL_BATCH_SIZE],
            tun_in_sizes: vec![0; IDEAL_BATCH_SIZE],
            gre_out: vec![vec![0; PACKET_BUF]; IDEAL_BATCH_SIZE],
            gre_out_lens: Vec::with_capacity(IDEAL_BATCH_SIZE),
        }
    }

    /// Frame, encrypt and send the `n` segments the TUN read produced.
    pub async fn tun_to_gre<C: ControlSide>(
        &mut self,
        session: &mut Session<C>,
        n: usize,
        tun: &AsyncDevice,
        gre: &GreSocket,
    ) {
        let mut n = n;
        let now = Instant::now();
        // Drain what else is waiting, up to a bound that keeps the other
        // direction and the timers served.
        for round in 0..4 {
            self.gre_out_lens.clear();
            for i in 0..n {
                let ip = &self.tun_in[i][..self.tun_in_sizes[i]];
                let k = self.gre_out_lens.len();
                match session.send_ip(now, ip, &mut self.gre_out[k]) {
                    Ok(len) => self.gre_out_lens.push(len),
                    Err(e) => debug!(error = %e, "packet from the tunnel not sent"),
                }
            }
            for chunk in (0..self.gre_out_lens.len()).step_by(BATCH) {
                let end = (chunk + BATCH).min(self.gre_out_lens.len());
                if let Err(e) = gre
                    .send_batch(&self.gre_out[chunk..end], &self.gre_out_lens[chunk..end])
                    .await
                {
                    debug!(error = %e, "GRE send failed");
                }
            }
            if round == 3 {
                break;
            }
            n = match tun.try_recv_multiple(
                &mut self.tun_raw,
                &mut self.tun_in,
                &mut self.tun_in_sizes,
                0,
            ) {
                Ok(n) => n,
                Err(_) => break,
            };
        }
    }
}

impl Inbound {
    /// Write what the reorder hold released on a timer, and ICMPv6 refusals.
    pub async fn released_to_tun<C: ControlSide>(
        &mut self,
        session: &mut Session<C>,
        tun: Option<&AsyncDevice>,
    ) {
        let mut used = 0;
        while let Some(ip) = session.poll_released_ip() {
            push(&mut self.tun_out, used, &ip);
            used += 1;
        }
        self.write(used, tun).await;
    }

    /// Merge and write the first `used` output buffers to the TUN.
    async fn write(&mut self, used: usize, tun: Option<&AsyncDevice>) {
        let Some(tun) = tun else { return };
        if used > 0 {
            if let Err(e) = tun
                .send_multiple(&mut self.gro, &mut self.tun_out[..used], VIRTIO_NET_HDR_LEN)
                .await
            {
                debug!(error = %e, "TUN write failed");
            }
        }
    }

    pub fn new() -> Self {
        Inbound {
            gre_in: vec![vec![0; GRE_BUF]; BATCH],
            gre_in_ranges: vec![0..0; BATCH],
            tun_out: Vec::with_capacity(BATCH),
            gro: GROTable::default(),
        }
    }

    /// Decrypt the `n` received GRE packets and write their IP packets, merged.
    pub async fn gre_to_tun<C: ControlSide>(
        &mut self,
        session: &mut Session<C>,
        n: usize,
        tun: Option<&AsyncDevice>,
    ) {
        let now = Instant::now();
        let mut used = 0;
        for i in 0..n {
            let range = self.gre_in_ranges[i].clone();
            if range.is_empty() {
                continue;
            }
            let pkt = &mut self.gre_in[i][range];
            if let Some(ip) = session.handle_gre(now, pkt) {
                push(&mut self.tun_out, used, &pkt[ip]);
                used += 1;
            }
            // What this packet released from the reorder hold comes after it.
            while let Some(ip) = session.poll_released_ip() {
                push(&mut self.tun_out, used, &ip);
                used += 1;
            }
        }
        self.write(used, tun).await;
    }
}

/// Put one IP packet in the `i`th TUN output buffer.
fn push(tun_out: &mut Vec<Vec<u8>>, i: usize, ip: &[u8]) {
    if tun_out.len() <= i {
        tun_out.push(Vec::with_capacity(PACKET_BUF));
    }
    // The merge grows buffers in place; start each from the header.
    let out = &mut tun_out[i];
    out.clear();
    out.resize(VIRTIO_NET_HDR_LEN, 0);
    out.extend_from_slice(ip);
}
