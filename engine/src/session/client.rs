//! The client (PNS) session: what `pptp-client` and the NetworkManager service run.

use std::ops::Range;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use super::driver::Driver;
use super::link::{Link, Role};
use super::{Event, PppConfig, SendError};
use crate::ppp::ccp::MppePolicy;
use crate::ppp::ipcp::IpcpConfig;
use crate::ppp::lcp::{AuthPolicy, LcpConfig};
use crate::pptp::control::{ControlConfig, Pns};
use crate::secret::Password;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// User name, possibly `DOMAIN\user`.
    pub user: String,
    pub password: Password,
    pub auth: AuthPolicy,
    pub mppe: MppePolicy,
    pub ppp: PppConfig,
    pub control: ControlConfig,
    pub request_dns: bool,
    pub request_nbns: bool,
    /// Seed for call IDs, magic numbers and challenges; the runtime passes OS randomness.
    pub seed: [u8; 32],
}

impl ClientConfig {
    pub fn new(user: impl Into<String>, password: Password, seed: [u8; 32]) -> Self {
        ClientConfig {
            user: user.into(),
            password,
            auth: AuthPolicy::default(),
            mppe: MppePolicy::default(),
            ppp: PppConfig::default(),
            control: ControlConfig::default(),
            request_dns: true,
            request_nbns: true,
            seed,
        }
    }
}

/// One client call. Feed it TCP bytes, GRE packets, IP packets and time; take from it
/// TCP bytes, GRE packets, events and the next deadline.
pub struct ClientSession {
    driver: Driver<Pns>,
}

impl ClientSession {
    /// Start: the Start-Control-Connection-Request is queued at once.
    pub fn new(cfg: ClientConfig, now: Instant) -> Self {
        let mut rng = StdRng::from_seed(cfg.seed);
        let call_id = loop {
            let c = rng.next_u32() as u16;
            if c != 0 {
                break c;
            }
        };
        let pns = Pns::new(cfg.control.clone(), call_id, now);
        let close_timeout = cfg.ppp.close_timeout;
        let make_link = Box::new(move |call_id, peer_call_id, peer_window, now| {
            let lcp = LcpConfig {
                mru: cfg.ppp.mru,
                accept_auth: cfg.auth,
                require_auth: None,
            };
            let ipcp = IpcpConfig {
                request_dns: cfg.request_dns,
                request_nbns: cfg.request_nbns,
                ..Default::default()
            };
            let role = Role::Client {
                user: cfg.user.clone(),
                password: cfg.password.clone(),
            };
            Link::new(
                cfg.ppp.clone(),
                role,
                lcp,
                ipcp,
                cfg.mppe,
                call_id,
                peer_call_id,
                peer_window,
                StdRng::from_rng(&mut rng),
                now,
            )
        });
        ClientSession {
            driver: Driver::new(pns, make_link, close_timeout),
        }
    }

    pub fn handle_tcp_data(&mut self, now: Instant, data: &[u8]) {
        self.driver.handle_tcp_data(now, data)
    }

    pub fn handle_tcp_closed(&mut self, now: Instant) {
        self.driver.handle_tcp_closed(now)
    }

    /// A GRE packet (IP header stripped). It is decrypted in place; if it carried an IPv4
    /// packet for the tunnel, its range within `pkt` is returned.
    pub fn handle_gre(&mut self, now: Instant, pkt: &mut [u8]) -> Option<Range<usize>> {
        self.driver.handle_gre(now, pkt)
    }

    /// Encapsulate an IPv4 packet from the tunnel into a GRE packet written to `out`.
    pub fn send_ip(&mut self, ip: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.driver.send_ip(ip, out)
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.driver.handle_timeout(now)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.driver.poll_timeout()
    }

    pub fn poll_tcp_transmit(&mut self) -> Option<Vec<u8>> {
        self.driver.poll_tcp_transmit()
    }

    pub fn poll_gre_transmit(&mut self) -> Option<Vec<u8>> {
        self.driver.poll_gre_transmit()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.driver.poll_event()
    }

    /// Disconnect politely; a `Down(Stopped)` event follows within the close timeout.
    pub fn close(&mut self, now: Instant) {
        self.driver.close(now)
    }

    pub fn is_up(&self) -> bool {
        self.driver.is_up()
    }

    pub fn is_dead(&self) -> bool {
        self.driver.is_dead()
    }
}
