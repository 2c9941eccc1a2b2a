//! The server (PAC) session: enough of a PPTP server to run the whole handshake
//! and data both ways against the client. It backs the engine's tests and the
//! benchmark's test peer; it is not a product.

use std::net::Ipv4Addr;
use std::ops::Range;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use super::driver::Driver;
use super::link::{Link, Role};
use super::{Event, PppConfig, SendError};
use crate::auth::authenticator::Misbehaviour;
use crate::auth::AuthProtocol;
use crate::ppp::ccp::MppePolicy;
use crate::ppp::ipcp::IpcpConfig;
use crate::ppp::lcp::{AuthPolicy, LcpConfig};
use crate::pptp::control::{ControlConfig, Pac};
use crate::secret::Password;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub users: Vec<(String, Password)>,
    /// The method demanded of clients (None: no authentication).
    pub auth: Option<AuthProtocol>,
    pub mppe: MppePolicy,
    pub ppp: PppConfig,
    pub control: ControlConfig,
    pub local: Ipv4Addr,
    pub assign: Ipv4Addr,
    /// DNS1, DNS2, NBNS1, NBNS2 to hand out.
    pub servers: [Option<Ipv4Addr>; 4],
    pub misbehaviour: Misbehaviour,
    pub seed: [u8; 32],
}

impl ServerConfig {
    pub fn new(users: Vec<(String, Password)>, seed: [u8; 32]) -> Self {
        ServerConfig {
            users,
            auth: Some(AuthProtocol::MsChapV2),
            mppe: MppePolicy::default(),
            ppp: PppConfig::default(),
            control: ControlConfig {
                vendor: "pptp-testpeer".into(),
                ..ControlConfig::default()
            },
            local: Ipv4Addr::new(192, 168, 99, 1),
            assign: Ipv4Addr::new(192, 168, 99, 2),
            servers: [None; 4],
            misbehaviour: Misbehaviour::default(),
            seed,
        }
    }
}

pub struct ServerSession {
    driver: Driver<Pac>,
}

impl ServerSession {
    pub fn new(cfg: ServerConfig, now: Instant) -> Self {
        let mut rng = StdRng::from_seed(cfg.seed);
        let call_id = (rng.next_u32() as u16).max(1);
        let pac = Pac::new(cfg.control.clone(), call_id, now);
        let close_timeout = cfg.ppp.close_timeout;
        let make_link = Box::new(move |call_id, peer_call_id, peer_window, now| {
            let lcp = LcpConfig {
                mru: cfg.ppp.mru,
                accept_auth: AuthPolicy::all(),
                require_auth: cfg.auth,
            };
            let ipcp = IpcpConfig {
                local: Some(cfg.local),
                assign_peer: Some(cfg.assign),
                offer_servers: cfg.servers,
                ..Default::default()
            };
            let role = Role::Server {
                users: cfg.users.clone(),
                misbehaviour: cfg.misbehaviour,
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
        ServerSession {
            driver: Driver::new(pac, make_link, close_timeout),
        }
    }

    pub fn handle_tcp_data(&mut self, now: Instant, data: &[u8]) {
        self.driver.handle_tcp_data(now, data)
    }

    pub fn handle_tcp_closed(&mut self, now: Instant) {
        self.driver.handle_tcp_closed(now)
    }

    pub fn handle_gre(&mut self, now: Instant, pkt: &mut [u8]) -> Option<Range<usize>> {
        self.driver.handle_gre(now, pkt)
    }

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

    /// Hang up from the server side.
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
