//! A userspace PPTP engine: PPTP control, enhanced GRE, PPP (LCP, authentication,
//! CCP, IPCP, IPV6CP), IPv6 router discovery and MPPE, as pure state machines fed bytes and time.

pub mod auth;
pub mod crypto;
pub mod dhcp;
pub mod gre;
pub mod icmpv6;
pub mod ipv4;
pub mod mppe;
pub mod ndisc;
pub mod ppp;
pub mod pptp;
pub mod redial;
pub mod route_policy;
pub mod secret;
pub mod session;
pub mod tcp_mss;
pub mod wire;

#[cfg(test)]
mod test_vectors;
