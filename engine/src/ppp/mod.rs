//! PPP (RFC 1661) as carried by PPTP.

pub mod ccp;
pub mod frame;
pub mod fsm;
pub mod ipcp;
pub mod ipv6cp;
pub mod lcp;
pub mod packet;
pub mod trace;
