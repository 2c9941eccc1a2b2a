//! What the link comes up with: the addresses, the MTU that fits the path
//! under GRE and MPPE, the MSS clamp, IPv6 if IPV6CP opened, and the exchanges
//! that start once it is up (DHCPINFORM, router discovery).

use std::time::Instant;

use tracing::{info, warn};

use super::{Link, Timer};
use crate::dhcp;
use crate::mppe;
use crate::ndisc::{self, RouterDiscovery};
use crate::session::{DownReason, Event, Ipv6Link, Phase, UpInfo};

impl Link {
    pub(super) fn network_up(&mut self, now: Instant) {
        let Some(local) = self.ipcp.local() else {
            return self.fail(now, DownReason::NoIpAddress);
        };
        if let (true, Some(why)) = (self.role.is_client(), self.ipcp.unusable()) {
            return self.fail(
                now,
                DownReason::NegotiationFailed(format!("{why}, which cannot be used")),
            );
        }
        let peer = self.ipcp.peer().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        let overhead = if self.tx.mppe.is_some() {
            mppe::OVERHEAD as u16
        } else {
            0
        };
        // The peer's MRU alone would allow 1500-byte frames that, with 44 bytes of IP,
        // GRE, PPP and MPPE around them, fragment on an ordinary 1500-byte path; our
        // own MRU (1400 by default, as Windows uses) is the path budget too.
        let mut mtu = self
            .lcp
            .peer_mru()
            .min(self.lcp.mru())
            .saturating_sub(overhead);
        if let Some(cap) = self.cfg.mtu {
            mtu = mtu.min(cap);
        }
        // Both ways: our own stack already fits the interface MTU, but hosts
        // routed through the tunnel, and the server's side, do not know it.
        self.mss_max = self
            .cfg
            .mss_clamp
            .then(|| mtu.saturating_sub(crate::tcp_mss::OVERHEAD_V4));
        self.tx.mss_max = self.mss_max;
        let (dns, nbns) = (self.ipcp.dns(), self.ipcp.nbns());
        let ipv6 = self.ipv6_link(now, mtu);
        let up = UpInfo {
            ipv6,
            local,
            peer,
            dns,
            nbns,
            mtu,
            mppe: self.ccp.send_params().filter(|_| self.tx.mppe.is_some()),
            mppe_receive: self.ccp.receive_params().filter(|_| self.rx.mppe.is_some()),
            auth: self.auth.method(),
        };
        info!(%local, %peer, mtu, mppe = %up.mppe_name(), "link up");
        self.set_phase(Phase::Up);
        self.events.push_back(Event::Up(up));
        if self.cfg.dhcp_inform && self.role.is_client() {
            self.inform = Some(dhcp::Inform::new(local, peer, &mut self.rng, now));
            self.flush_inform();
        }
        self.flush_ndisc(now);
    }

    /// IPv6 for the link coming up, if IPV6CP opened and the MTU carries it;
    /// starts router discovery for a client.
    fn ipv6_link(&mut self, now: Instant, mtu: u16) -> Option<Ipv6Link> {
        self.timers.stop(Timer::Ipv6Wait);
        let settled = self.ipv6_settled();
        let f = self.ipv6cp.as_mut()?;
        if !f.is_opened() {
            if !settled {
                info!("IPV6CP did not finish in time: the link comes up without IPv6");
                f.close(now);
            }
            return None;
        }
        if u32::from(mtu) < ndisc::MIN_MTU {
            warn!(
                mtu,
                "the tunnel MTU is below IPv6's minimum of 1280: no IPv6"
            );
            f.close(now);
            return None;
        }
        let (local, peer) = f.interface_ids();
        let id = local?;
        self.ipv6_up = true;
        self.rx.ipv6 = true;
        if self.role.is_client() {
            self.ndisc = Some(RouterDiscovery::new(id, now));
        }
        let link = Ipv6Link {
            local: crate::ppp::ipv6cp::link_local(id),
            peer: peer.map(crate::ppp::ipv6cp::link_local),
        };
        info!(local = %link.local, "IPv6 up");
        Some(link)
    }
}
