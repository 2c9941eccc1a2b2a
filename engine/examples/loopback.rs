//! A client and the engine's server role connected back to back in memory: the
//! whole PPTP → LCP → MS-CHAPv2 → CCP/MPPE → IPCP sequence, then traffic both ways.
//! No sockets, no TUN, no root; the clock is simulated.
//!
//! cargo run --release -p pptp-engine --example loopback

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use pptp_engine::secret::Password;
use pptp_engine::session::{ClientConfig, ClientSession, Event, ServerConfig, ServerSession};

fn main() {
    let start = Instant::now();
    let mut now = start;
    let users = vec![("alice".to_string(), Password::new("s3cret pass"))];
    let mut server_cfg = ServerConfig::new(users, [7; 32]);
    server_cfg.servers[0] = Some("192.0.2.53".parse().unwrap());
    let mut server = ServerSession::new(server_cfg, now);
    let mut client = ClientSession::new(
        ClientConfig::new("alice", Password::new("s3cret pass"), [9; 32]),
        now,
    );

    // (deliver at, to server?, tcp?, bytes)
    let mut wire: VecDeque<(Instant, bool, bool, Vec<u8>)> = VecDeque::new();
    let latency = Duration::from_millis(5);
    let mut server_up = false;
    let mut received = [0usize; 2];
    let mut buf = vec![0u8; 2048];
    let payload = vec![0x45u8; 1300];

    while now < start + Duration::from_secs(60) {
        while let Some(d) = client.poll_tcp_transmit() {
            wire.push_back((now + latency, true, true, d));
        }
        while let Some(d) = client.poll_gre_transmit() {
            wire.push_back((now + latency, true, false, d));
        }
        while let Some(d) = server.poll_tcp_transmit() {
            wire.push_back((now + latency, false, true, d));
        }
        while let Some(d) = server.poll_gre_transmit() {
            wire.push_back((now + latency, false, false, d));
        }
        while let Some(e) = server.poll_event() {
            server_up |= matches!(e, Event::Up(_));
        }
        while let Some(e) = client.poll_event() {
            let t = now.duration_since(start).as_millis();
            match e {
                Event::Phase(p) => println!("{t:>6} ms  client phase {p:?}"),
                Event::Pushed(p) => println!("{t:>6} ms  pushed routes {:?}", p.routes),
                Event::PasswordWanted(f) => println!("{t:>6} ms  password wanted: {f}"),
                Event::Router(r) => println!("{t:>6} ms  IPv6 addresses {:?}", r.addresses),
                Event::Up(u) => println!(
                    "{t:>6} ms  UP  local {} peer {} dns {:?} mtu {} mppe {} auth {:?}",
                    u.local,
                    u.peer,
                    u.dns,
                    u.mtu,
                    u.mppe_name(),
                    u.auth
                ),
                Event::Down(d) => {
                    println!("{t:>6} ms  DOWN {} ({d})", d.code());
                    println!(
                        "moved {} packets client→server and {} server→client",
                        received[0], received[1]
                    );
                    return;
                }
            }
        }
        if server_up && client.is_up() && received[0] < 1000 {
            let n = client.send_ip(now, &payload, &mut buf).expect("up");
            wire.push_back((now + latency, true, false, buf[..n].to_vec()));
            let n = server.send_ip(now, &payload, &mut buf).expect("up");
            wire.push_back((now + latency, false, false, buf[..n].to_vec()));
        } else if received[0] >= 1000 && !client.is_dead() && client.is_up() {
            client.close(now);
        }
        let next = [
            wire.front().map(|w| w.0),
            client.poll_timeout(),
            server.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now + Duration::from_millis(1));
        now = now.max(next.min(now + Duration::from_millis(1)));
        while wire.front().is_some_and(|w| w.0 <= now) {
            let (_, to_server, tcp, mut data) = wire.pop_front().unwrap();
            match (to_server, tcp) {
                (true, true) => server.handle_tcp_data(now, &data),
                (false, true) => client.handle_tcp_data(now, &data),
                (true, false) => {
                    received[0] += usize::from(server.handle_gre(now, &mut data).is_some())
                }
                (false, false) => {
                    received[1] += usize::from(client.handle_gre(now, &mut data).is_some())
                }
            }
        }
        client.handle_timeout(now);
        server.handle_timeout(now);
        while server.poll_released_ip().is_some() {
            received[0] += 1;
        }
        while client.poll_released_ip().is_some() {
            received[1] += 1;
        }
    }
    eprintln!("the demo did not finish within its simulated minute");
    std::process::exit(1);
}
