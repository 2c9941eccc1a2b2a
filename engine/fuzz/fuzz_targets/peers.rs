//! pppd peers-file text (the lexer, options, `# nm-pptp:` lines) into a
//! connection, then back out as a peers file and into vpn.data.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nm_pptp_settings::peers;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = peers::parse_str(text, std::path::Path::new("/fuzz/peers/X")) {
        let (routing, _notes) = p.routing();
        let c = p.connection;
        let v = c.to_vpn();
        let _ = nm_pptp_settings::Connection::from_vpn(&v.data, &v.secrets, None);
        if let Ok(out) = peers::write(&c, "fuzz", routing) {
            // What we write reads back as the same connection and routing.
            let again = peers::parse_str(&out, std::path::Path::new("/fuzz/peers/Y")).unwrap();
            assert_eq!(again.connection.gateway, c.gateway);
            assert_eq!(again.routing().0, routing);
        }
    }
});
