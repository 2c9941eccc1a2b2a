//! The client (PNS) session: what `pptp-client` and the NetworkManager service run.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use super::driver::Session;
use super::link::{Link, Role};
use super::PppConfig;
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
    /// A fixed tunnel address to ask for instead of one from the server's pool.
    pub local_address: Option<std::net::Ipv4Addr>,
    /// With `local_address`: take the address the server offers instead when it
    /// refuses ours (pppd's `ipcp-accept-local`); without it, such a refusal ends
    /// the connection.
    pub accept_local: bool,
    /// Someone can type a new password: a server that refuses the password but
    /// allows a retry (MS-CHAPv2 `R=1`) gets [`super::Event::PasswordWanted`]
    /// instead of the end of the call.
    pub password_retry: bool,
    /// The PPTP server's address, once resolved: no tunnel address may equal it.
    pub server: Option<std::net::Ipv4Addr>,
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
            local_address: None,
            accept_local: false,
            password_retry: false,
            server: None,
            seed,
        }
    }
}

/// One client call.
pub type ClientSession = Session<Pns>;

impl Session<Pns> {
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
                server: cfg.server,
                local: cfg.local_address,
                insist_local: !cfg.accept_local,
                ..Default::default()
            };
            let role = Role::Client {
                user: cfg.user.clone(),
                password: cfg.password.clone(),
                password_retry: cfg.password_retry,
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
        Session::from_parts(pns, make_link, close_timeout)
    }
}
