//! The server (PAC) session: enough of a PPTP server to run the whole handshake
//! and data both ways against the client. It backs the engine's tests and the
//! benchmark's test peer; it is not a product.

use std::net::Ipv4Addr;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use super::driver::Session;
use super::link::{Link, Role};
use super::PppConfig;
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
    /// Answer a client's DHCPINFORM with these routes, domain and servers (None:
    /// no DHCP server, the INFORM goes unanswered).
    pub push: Option<crate::dhcp::Pushed>,
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
            push: None,
            seed,
        }
    }
}

/// One server-side call.
pub type ServerSession = Session<Pac>;

impl Session<Pac> {
    /// Wait for a client's Start-Control-Connection-Request.
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
                push: cfg.push.clone(),
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
        Session::from_parts(pac, make_link, close_timeout)
    }
}
