//! One PPTP call end to end: the control connection, then PPP over GRE, from
//! bytes in and `now` to bytes out, events and timer deadlines.

pub mod client;
pub mod datapath;
pub mod driver;
mod flush_nudge;
mod link;
mod reorder;
pub mod server;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub use crate::ndisc::RouterInfo;
pub use client::{ClientConfig, ClientSession};
pub use datapath::{RxOutcome, SendError};
pub use driver::{ControlSide, Session};
pub use server::{ServerConfig, ServerSession};

use crate::auth::{AuthError, AuthProtocol};
use crate::mppe::MppeParams;
use crate::ppp::fsm::Timers;

/// The phases of RFC 1661 §3.2, preceded by PPTP's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Control,
    Establish,
    Authenticate,
    Network,
    Up,
    Terminate,
    Dead,
}

/// What was negotiated, reported when the link comes up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpInfo {
    pub local: Ipv4Addr,
    pub peer: Ipv4Addr,
    pub dns: Vec<Ipv4Addr>,
    pub nbns: Vec<Ipv4Addr>,
    /// MTU for the tunnel interface (the peer's MRU less MPPE overhead, capped by config).
    pub mtu: u16,
    /// MPPE of what we send (None: unencrypted link).
    pub mppe: Option<MppeParams>,
    /// MPPE of what we receive. Usually the same; differs when one side asks for
    /// stateful mode and the other only allows it (pppd's `mppe-stateful`).
    pub mppe_receive: Option<MppeParams>,
    pub auth: Option<AuthProtocol>,
    /// IPv6, when IPV6CP came up (global addresses follow in [`Event::Router`]).
    pub ipv6: Option<Ipv6Link>,
}

/// The link-local addresses IPV6CP's interface identifiers give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Link {
    pub local: Ipv6Addr,
    /// None when the server sent no identifier of its own.
    pub peer: Option<Ipv6Addr>,
}

impl UpInfo {
    /// "128-stateless", "40-stateful" or "off".
    pub fn mppe_name(&self) -> String {
        Self::name(self.mppe)
    }

    /// The same for what we receive.
    pub fn mppe_receive_name(&self) -> String {
        Self::name(self.mppe_receive)
    }

    fn name(p: Option<MppeParams>) -> String {
        p.map_or_else(|| "off".to_string(), |m| m.to_string())
    }
}

/// Why a session ended, typed so that each front end can say it plainly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    AuthFailed(AuthError),
    /// The server asked to be answered with a method the policy refuses.
    MethodRefused(AuthProtocol),
    /// The server asked for no authentication while MPPE is required (without
    /// MS-CHAP there are no keys, and nothing proves the server is the real one).
    NoAuthentication,
    /// Nothing answered, or the control connection failed before the call was up.
    PeerUnreachable(String),
    /// TCP 1723 works but no PPP packet came back over GRE.
    GreBlocked,
    MppeRefused(String),
    /// The server offers only weaker MPPE than the connection allows (what it offers).
    MppeTooWeak(String),
    NegotiationFailed(String),
    NoIpAddress,
    /// The server would not assign the fixed address the connection asks for.
    AddressRefused {
        wanted: std::net::Ipv4Addr,
        offered: std::net::Ipv4Addr,
    },
    /// LCP or PPTP keep-alive went unanswered.
    EchoTimeout,
    /// The server ended the call.
    PeerClosed(String),
    /// After Up, the server ended the PPP session (an LCP or CCP
    /// Terminate-Request: a connect-time limit, an administrator), with its text.
    SessionEnded(String),
    /// Too many MPPE decryption errors.
    MppeFailed,
    /// We were asked to stop.
    Stopped,
    /// The engine itself failed (a bug): never reported as a clean stop.
    Internal(String),
    /// This machine's side failed: the tunnel interface or a socket stopped working.
    LocalIo(String),
}

impl DownReason {
    /// A stable identifier for scripts (`--events json`).
    pub fn code(&self) -> &'static str {
        match self {
            DownReason::AuthFailed(_) => "auth-failed",
            DownReason::MethodRefused(_) => "method-refused",
            DownReason::NoAuthentication => "no-authentication",
            DownReason::PeerUnreachable(_) => "peer-unreachable",
            DownReason::GreBlocked => "gre-blocked",
            DownReason::MppeRefused(_) => "mppe-refused",
            DownReason::MppeTooWeak(_) => "mppe-too-weak",
            DownReason::NegotiationFailed(_) => "negotiation-failed",
            DownReason::NoIpAddress => "no-ip-address",
            DownReason::AddressRefused { .. } => "address-refused",
            DownReason::EchoTimeout => "echo-timeout",
            DownReason::PeerClosed(_) => "peer-closed",
            DownReason::SessionEnded(_) => "session-ended",
            DownReason::MppeFailed => "mppe-failed",
            DownReason::Stopped => "stopped",
            DownReason::Internal(_) => "internal-error",
            DownReason::LocalIo(_) => "local-io-error",
        }
    }
}

impl std::fmt::Display for DownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownReason::AuthFailed(e) => write!(f, "authentication failed: {e}"),
            DownReason::MethodRefused(m) => write!(
                f,
                "the server asked to authenticate with {}, which this connection does not allow",
                m.label()
            ),
            DownReason::NoAuthentication => f.write_str(
                "the server asked for no authentication: it cannot prove who it is, and MPPE gets no keys",
            ),
            DownReason::PeerUnreachable(s) => write!(f, "could not reach the PPTP server: {s}"),
            DownReason::GreBlocked => f.write_str(
                "GRE packets are not getting through: check that the firewall/NAT passes IP protocol 47",
            ),
            DownReason::MppeRefused(s) => write!(f, "encryption could not be agreed: {s}"),
            DownReason::MppeTooWeak(s) => write!(
                f,
                "the server offers only {s} encryption, weaker than this connection allows"
            ),
            DownReason::NegotiationFailed(s) => write!(f, "PPP negotiation failed: {s}"),
            DownReason::NoIpAddress => f.write_str("the server did not assign an IPv4 address"),
            DownReason::AddressRefused { wanted, offered } => write!(
                f,
                "the server would not assign the fixed address {wanted} (it offered {offered}; \
                 ipcp-accept-local=yes takes the server's choice)"
            ),
            DownReason::EchoTimeout => f.write_str("the server stopped answering keep-alive echoes"),
            DownReason::PeerClosed(s) => write!(f, "the server ended the connection: {s}"),
            DownReason::SessionEnded(s) if s.is_empty() => f.write_str("the server ended the session"),
            DownReason::SessionEnded(s) => write!(f, "the server ended the session: “{s}”"),
            DownReason::MppeFailed => f.write_str("too many MPPE decryption errors"),
            DownReason::Stopped => f.write_str("disconnected"),
            DownReason::Internal(s) => write!(f, "internal error: {s}"),
            DownReason::LocalIo(s) => write!(f, "the tunnel failed on this machine: {s}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Phase(Phase),
    Up(UpInfo),
    /// What the server's answer to our DHCPINFORM added (routes, domain, more
    /// name servers), some time after Up.
    Pushed(crate::dhcp::Pushed),
    /// The server refused the password but takes another on this link (MS-CHAPv2
    /// `R=1`, only when [`client::ClientConfig::password_retry`] is set): answer
    /// with `Session::retry_password`. Without an answer the refusal ends the
    /// call after [`crate::auth::peer::PASSWORD_PROMPT_WAIT`].
    PasswordWanted(crate::auth::ServerFailure),
    /// A router advertisement through the tunnel said something new: addresses,
    /// routes and name servers for IPv6 (client role, after Up with IPv6).
    Router(crate::ndisc::RouterInfo),
    Down(DownReason),
}

/// PPP settings shared by both roles.
#[derive(Debug, Clone)]
pub struct PppConfig {
    /// Our MRU (what we accept).
    pub mru: u16,
    /// Cap on the reported tunnel MTU.
    pub mtu: Option<u16>,
    pub timers: Timers,
    /// LCP echo: interval and unanswered count that ends the link (None: off;
    /// a count of 0: echoes are sent but never end the link, as in pppd).
    pub lcp_echo: Option<(Duration, u32)>,
    /// How long to hold an ack hoping to piggyback it on data.
    pub ack_delay: Duration,
    /// How long a polite shutdown may take before we just stop.
    pub close_timeout: Duration,
    /// Lower the MSS of TCP SYNs crossing the tunnel (both ways) to what its MTU
    /// carries.
    pub mss_clamp: bool,
    /// Ask the server for routes and the DNS domain with a DHCPINFORM once up.
    pub dhcp_inform: bool,
    /// Negotiate IPV6CP and carry IPv6 (a server without it rejects the
    /// protocol and the link stays IPv4-only).
    pub ipv6: bool,
}

impl Default for PppConfig {
    fn default() -> Self {
        PppConfig {
            mru: crate::ppp::lcp::DEFAULT_MRU,
            mtu: None,
            timers: Timers::default(),
            lcp_echo: Some((Duration::from_secs(30), 4)),
            ack_delay: Duration::from_millis(100),
            close_timeout: Duration::from_secs(3),
            mss_clamp: true,
            dhcp_inform: true,
            ipv6: true,
        }
    }
}
