//! PPP (RFC 1661) as carried by PPTP.

pub mod frame;
pub mod packet;
