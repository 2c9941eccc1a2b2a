//! The NetworkManager VPN plugin service for PPTP, as a library: the
//! `org.freedesktop.NetworkManager.VPN.Plugin` object served on any zbus
//! connection, with the tunnel behind [`tunnel::TunnelRunner`], so tests run it
//! in-process over a peer-to-peer connection.

pub mod plugin;
pub mod tunnel;
