//! PPTP control messages, one at a time and as a TCP byte stream.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::pptp::message::{Message, StreamDecoder};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        // Whatever decodes must encode to something that decodes the same.
        assert_eq!(Message::decode(&m.encode()).as_ref(), Ok(&m));
    }
    let mut d = StreamDecoder::default();
    for chunk in data.chunks(7) {
        d.push(chunk);
        while let Ok(Some(_)) = d.next_message() {}
    }
});
