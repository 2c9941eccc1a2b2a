//! What the seed's ip-up.d script did, done properly and undone on exit: a host
//! route to the server via the route it had before, and the default route through
//! the tunnel as two /1 routes (they win over the existing default without
//! deleting it, so nothing needs restoring if we die).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use route_manager::{Route, RouteManager};
use tracing::{info, warn};

#[derive(Default)]
pub struct Routes {
    added: Vec<Route>,
}

impl Routes {
    pub fn pin_server(&mut self, server: Ipv4Addr) -> io::Result<()> {
        let mut m = RouteManager::new()?;
        let Some(via) = m.find_route(&IpAddr::V4(server))? else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no route to {server}"),
            ));
        };
        if via.prefix() == 32 && via.destination() == IpAddr::V4(server) {
            return Ok(());
        }
        let mut r = Route::new(IpAddr::V4(server), 32);
        if let Some(gw) = via.gateway() {
            r = r.with_gateway(gw);
        }
        if let Some(i) = via.if_index() {
            r = r.with_if_index(i);
        }
        m.add(&r)?;
        info!(%server, gateway = ?via.gateway(), "host route to the server pinned");
        self.added.push(r);
        Ok(())
    }

    pub fn default_via(&mut self, ifname: &str) -> io::Result<()> {
        let mut m = RouteManager::new()?;
        for dest in [Ipv4Addr::new(0, 0, 0, 0), Ipv4Addr::new(128, 0, 0, 0)] {
            let r = Route::new(IpAddr::V4(dest), 1).with_if_name(ifname.to_string());
            m.add(&r)?;
            self.added.push(r);
        }
        info!(ifname, "default route through the tunnel");
        Ok(())
    }

    /// The server's split routes (from its DHCPINFORM answer), or the class
    /// route, through the tunnel.
    pub fn via(&mut self, ifname: &str, routes: &[(Ipv4Addr, u8)]) -> io::Result<()> {
        self.add_through(ifname, routes.iter().map(|&(d, p)| (IpAddr::V4(d), p)))
    }

    /// IPv6 routes through the tunnel (the router advertisement's). Routers
    /// repeat their advertisements: a route already added is skipped.
    pub fn via6(&mut self, ifname: &str, routes: &[(Ipv6Addr, u8)]) -> io::Result<()> {
        let new: Vec<(IpAddr, u8)> = routes
            .iter()
            .map(|&(d, p)| (IpAddr::V6(d), p))
            .filter(|&(d, p)| {
                !self.added.iter().any(|r| {
                    r.destination() == d
                        && r.prefix() == p
                        && r.if_name().is_some_and(|n| n == ifname)
                })
            })
            .collect();
        self.add_through(ifname, new.into_iter())
    }

    /// The IPv6 default route through the tunnel, as two /1 routes like IPv4's.
    pub fn default_via6(&mut self, ifname: &str) -> io::Result<()> {
        let halves = [
            (Ipv6Addr::UNSPECIFIED, 1),
            (Ipv6Addr::new(0x8000, 0, 0, 0, 0, 0, 0, 0), 1),
        ];
        self.via6(ifname, &halves)
    }

    fn add_through(
        &mut self,
        ifname: &str,
        routes: impl Iterator<Item = (IpAddr, u8)>,
    ) -> io::Result<()> {
        let mut m = RouteManager::new()?;
        let mut added = Vec::new();
        for (dest, prefix) in routes {
            let r = Route::new(dest, prefix).with_if_name(ifname.to_string());
            m.add(&r)?;
            self.added.push(r);
            added.push(format!("{dest}/{prefix}"));
        }
        if !added.is_empty() {
            info!(ifname, routes = ?added, "routes through the tunnel");
        }
        Ok(())
    }

    /// Takes back a route added by [`Routes::via`].
    pub fn remove(&mut self, dest: Ipv4Addr, prefix: u8) -> io::Result<()> {
        let Some(i) = self
            .added
            .iter()
            .position(|r| r.destination() == IpAddr::V4(dest) && r.prefix() == prefix)
        else {
            return Ok(());
        };
        let r = self.added.remove(i);
        RouteManager::new()?.delete(&r)
    }

    pub fn remove_all(&mut self) {
        let Ok(mut m) = RouteManager::new() else {
            return;
        };
        for r in self.added.drain(..).rev() {
            if let Err(e) = m.delete(&r) {
                // Routes through the tunnel vanish with the device; that is fine.
                if r.prefix() == 32 {
                    warn!(error = %e, "could not remove the host route to the server");
                }
            }
        }
    }
}
