//! The control-connection state machines: [`Pns`] is our client (it places the
//! call), [`Pac`] the server role used by tests and benchmarks.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::message::{
    CallDisconnectNotify, Message, OutgoingCallReply, OutgoingCallRequest, StartControl,
    StreamDecoder, PROTOCOL_VERSION,
};
use crate::wire::DecodeError;

#[derive(Debug, Clone)]
pub struct ControlConfig {
    pub hostname: String,
    pub vendor: String,
    /// Our receive window, advertised in the call request (Windows uses 64).
    pub recv_window: u16,
    /// How long to wait for a reply (RFC 2637 §3: 60 s).
    pub reply_timeout: Duration,
    /// Silence after which we send an Echo-Request (RFC 2637 §3.1.4: 60 s).
    pub idle_timeout: Duration,
    /// How long an Echo-Request may stay unanswered.
    pub echo_timeout: Duration,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            hostname: "local".into(),
            vendor: "nm-pptp-rs".into(),
            recv_window: 64,
            reply_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            echo_timeout: Duration::from_secs(60),
        }
    }
}

impl ControlConfig {
    /// Our Start-Control-Connection Request or Reply: any framing, any bearer.
    fn start_control(&self, result: u8, max_channels: u16) -> StartControl {
        StartControl {
            version: PROTOCOL_VERSION,
            result,
            error: 0,
            framing_caps: 3,
            bearer_caps: 3,
            max_channels,
            firmware: 1,
            hostname: self.hostname.clone(),
            vendor: self.vendor.clone(),
        }
    }
}

/// Why the control connection ended.
/// The control messages that carry a Result Code: each has its own table
/// (RFC 2637 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    StartControl,
    OutgoingCall,
    CallDisconnect,
}

impl Request {
    fn name(self) -> &'static str {
        match self {
            Request::StartControl => "start-control-connection request",
            Request::OutgoingCall => "outgoing-call request",
            Request::CallDisconnect => "call-disconnect notification",
        }
    }
}

/// What the server did not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    StartReply,
    CallReply,
    StopReply,
    /// The reply to our Echo-Request on the control connection.
    Echo,
}

impl Awaited {
    fn text(self) -> &'static str {
        match self {
            Awaited::StartReply => "reply to the control connection request",
            Awaited::CallReply => "reply to the call request",
            Awaited::StopReply => "reply to stop the control connection",
            Awaited::Echo => "echo reply on the control connection",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlDown {
    /// The server answered our request with a failure result.
    Refused {
        request: Request,
        result: u8,
        error: u8,
        cause: u16,
    },
    /// No reply within the timeout.
    Timeout(Awaited),
    /// The server ended the call or the connection.
    PeerDisconnected(String),
    /// The byte stream stopped making sense.
    Framing(DecodeError),
    /// The other end stopped reading: our messages could not be sent.
    Stalled,
    /// We closed it.
    Closed,
}

impl ControlDown {
    pub fn describe(&self) -> String {
        match self {
            ControlDown::Refused {
                request,
                result,
                error,
                cause,
            } => {
                format!(
                    "the server refused the {}: {}",
                    request.name(),
                    result_text(*request, *result, *error, *cause)
                )
            }
            ControlDown::Timeout(what) => format!("no {} from the server in time", what.text()),
            ControlDown::PeerDisconnected(s) => s.clone(),
            ControlDown::Framing(e) => format!("the control connection lost framing ({e})"),
            ControlDown::Stalled => {
                "the other end stopped reading the control connection: our messages could not be sent".into()
            }
            ControlDown::Closed => "closed".into(),
        }
    }
}

fn general_error(e: u8) -> &'static str {
    match e {
        0 => "no general error",
        1 => "not connected",
        2 => "bad format",
        3 => "bad value",
        4 => "no resource",
        5 => "bad call ID",
        6 => "PAC error",
        _ => "unknown error",
    }
}

/// Readable text for the Result/Error codes of RFC 2637 §2.
pub fn result_text(request: Request, result: u8, error: u8, cause: u16) -> String {
    let r = match request {
        Request::StartControl => match result {
            1 => "OK",
            2 => "general error",
            3 => "a control connection already exists",
            4 => "not authorized",
            5 => "protocol version not supported",
            _ => "unknown result",
        },
        Request::CallDisconnect => match result {
            1 => "lost carrier",
            2 => "general error",
            3 => "administrative shutdown",
            4 => "request",
            _ => "unknown result",
        },
        Request::OutgoingCall => match result {
            1 => "connected",
            2 => "general error",
            3 => "no carrier",
            4 => "busy",
            5 => "no dial tone",
            6 => "time-out",
            7 => "call not accepted",
            _ => "unknown result",
        },
    };
    let mut s = format!("result {result} ({r})");
    if error != 0 {
        s += &format!(", error {error} ({})", general_error(error));
    }
    if cause != 0 {
        s += &format!(", cause {cause}");
    }
    s
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlEvent {
    CallUp { peer_call_id: u16, peer_window: u16 },
    Down(ControlDown),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PnsState {
    WaitStartReply,
    WaitCallReply,
    Established,
    WaitDisconnect,
    WaitStopReply,
    Closed,
}

/// State shared by both roles: the byte stream, keep-alive and outgoing queue.
struct Conn {
    cfg: ControlConfig,
    decoder: StreamDecoder,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<ControlEvent>,
    reply_deadline: Option<Instant>,
    last_rx: Instant,
    echo_id: u32,
    echo_deadline: Option<Instant>,
}

impl Conn {
    fn new(cfg: ControlConfig, now: Instant) -> Self {
        Conn {
            cfg,
            decoder: StreamDecoder::default(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            reply_deadline: None,
            last_rx: now,
            echo_id: 0,
            echo_deadline: None,
        }
    }

    fn send(&mut self, m: Message) {
        debug!(message = m.name(), "PPTP control send");
        self.out.push_back(m.encode());
    }

    fn expect_reply(&mut self, now: Instant) {
        self.reply_deadline = Some(now + self.cfg.reply_timeout);
    }

    fn poll_timeout(&self, keepalive: bool) -> Option<Instant> {
        let idle = (keepalive && self.echo_deadline.is_none())
            .then(|| self.last_rx + self.cfg.idle_timeout);
        [self.reply_deadline, self.echo_deadline, idle]
            .into_iter()
            .flatten()
            .min()
    }

    /// Messages that either role answers the same way. Returns the message back if it
    /// needs role-specific handling.
    fn common(&mut self, m: Message) -> Option<Message> {
        match m {
            Message::EchoRequest { id } => self.send(Message::EchoReply {
                id,
                result: 1,
                error: 0,
            }),
            Message::EchoReply { id, .. } => {
                if id == self.echo_id {
                    self.echo_deadline = None;
                }
            }
            Message::SetLinkInfo(s) => {
                // Windows sends this both ways; the ACCMs mean nothing without HDLC.
                debug!(
                    send_accm = s.send_accm,
                    recv_accm = s.recv_accm,
                    "Set-Link-Info accepted"
                );
            }
            Message::WanErrorNotify(w) => warn!(
                crc = w.crc_errors,
                framing = w.framing_errors,
                hw_overrun = w.hardware_overruns,
                buf_overrun = w.buffer_overruns,
                timeout = w.timeout_errors,
                alignment = w.alignment_errors,
                "server reported WAN errors"
            ),
            other => return Some(other),
        }
        None
    }

    /// Keep-alive: returns true if the echo went unanswered.
    fn keepalive(&mut self, now: Instant, active: bool) -> bool {
        if self.echo_deadline.is_some_and(|d| d <= now) {
            return true;
        }
        if active && self.echo_deadline.is_none() && now >= self.last_rx + self.cfg.idle_timeout {
            self.echo_id = self.echo_id.wrapping_add(1);
            self.send(Message::EchoRequest { id: self.echo_id });
            self.echo_deadline = Some(now + self.cfg.echo_timeout);
        }
        false
    }

    fn next_messages(&mut self, now: Instant, data: &[u8]) -> Result<Vec<Message>, DecodeError> {
        self.decoder.push(data);
        let mut v = Vec::new();
        while let Some(m) = self.decoder.next_message()? {
            self.last_rx = now;
            debug!(message = m.name(), "PPTP control received");
            v.push(m);
        }
        Ok(v)
    }
}

/// The client side of the control connection and its single call.
pub struct Pns {
    conn: Conn,
    state: PnsState,
    call_id: u16,
    peer_call_id: u16,
}

impl Pns {
    /// Start: queue the Start-Control-Connection-Request. `call_id` must be random and
    /// non-zero (NAT helpers and pptp-linux's Debian #721963).
    pub fn new(cfg: ControlConfig, call_id: u16, now: Instant) -> Self {
        let mut p = Pns {
            conn: Conn::new(cfg, now),
            state: PnsState::WaitStartReply,
            call_id,
            peer_call_id: 0,
        };
        let c = &p.conn.cfg;
        // A PNS SHOULD advertise 0 channels (RFC 2637 §2.1).
        let m = Message::StartControlRequest(c.start_control(0, 0));
        p.conn.send(m);
        p.conn.expect_reply(now);
        p
    }

    pub fn state(&self) -> PnsState {
        self.state
    }

    pub fn call_id(&self) -> u16 {
        self.call_id
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.conn.out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ControlEvent> {
        self.conn.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == PnsState::Closed {
            return None;
        }
        self.conn.poll_timeout(self.state == PnsState::Established)
    }

    fn down(&mut self, why: ControlDown) {
        if self.state != PnsState::Closed {
            self.state = PnsState::Closed;
            self.conn.events.push_back(ControlEvent::Down(why));
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == PnsState::Closed {
            return;
        }
        if self.conn.reply_deadline.is_some_and(|d| d <= now) {
            self.conn.reply_deadline = None;
            let what = match self.state {
                // Closing anyway: carry on with the stop.
                PnsState::WaitDisconnect => return self.stop(now),
                PnsState::WaitStartReply => Awaited::StartReply,
                PnsState::WaitCallReply => Awaited::CallReply,
                _ => Awaited::StopReply,
            };
            self.down(ControlDown::Timeout(what));
            return;
        }
        if self
            .conn
            .keepalive(now, self.state == PnsState::Established)
        {
            self.down(ControlDown::Timeout(Awaited::Echo));
        }
    }

    pub fn input(&mut self, now: Instant, data: &[u8]) {
        if self.state == PnsState::Closed {
            return;
        }
        let msgs = match self.conn.next_messages(now, data) {
            Ok(m) => m,
            Err(e) => return self.down(ControlDown::Framing(e)),
        };
        for m in msgs {
            let Some(m) = self.conn.common(m) else {
                continue;
            };
            self.message(now, m);
        }
    }

    fn message(&mut self, now: Instant, m: Message) {
        match (self.state, m) {
            (PnsState::WaitStartReply, Message::StartControlReply(r)) => {
                // RFC 2637 defines 1 as success; some ADSL modems and servers
                // send 0 (undefined) for it. pptp-linux goes on with 0 too: the
                // call request that follows is refused by a server that meant no.
                if !matches!(r.result, 0 | 1) {
                    return self.down(ControlDown::Refused {
                        request: Request::StartControl,
                        result: r.result,
                        error: r.error,
                        cause: 0,
                    });
                }
                info!(host = %r.hostname, vendor = %r.vendor, version = r.version, "PPTP control connection up");
                self.conn
                    .send(Message::OutgoingCallRequest(OutgoingCallRequest {
                        call_id: self.call_id,
                        call_serial: 1,
                        min_bps: 2400,
                        max_bps: 10_000_000,
                        bearer_type: 3,
                        framing_type: 3,
                        recv_window: self.conn.cfg.recv_window,
                        processing_delay: 0,
                        phone: String::new(),
                        subaddress: String::new(),
                    }));
                self.conn.expect_reply(now);
                self.state = PnsState::WaitCallReply;
            }
            (PnsState::WaitCallReply, Message::OutgoingCallReply(r)) => {
                if r.peer_call_id != self.call_id {
                    warn!(
                        got = r.peer_call_id,
                        ours = self.call_id,
                        "Outgoing-Call-Reply for another call ignored"
                    );
                    return;
                }
                if r.result != 1 {
                    return self.down(ControlDown::Refused {
                        request: Request::OutgoingCall,
                        result: r.result,
                        error: r.error,
                        cause: r.cause,
                    });
                }
                self.conn.reply_deadline = None;
                self.peer_call_id = r.call_id;
                self.state = PnsState::Established;
                self.conn.events.push_back(ControlEvent::CallUp {
                    peer_call_id: r.call_id,
                    peer_window: r.recv_window,
                });
            }
            (PnsState::WaitDisconnect, Message::CallDisconnectNotify(_)) => self.stop(now),
            (_, Message::CallDisconnectNotify(c))
                if c.call_id == self.peer_call_id || c.call_id == self.call_id =>
            {
                self.conn.send(Message::StopControlRequest { reason: 1 });
                self.down(ControlDown::PeerDisconnected(format!(
                    "the server disconnected the call ({})",
                    result_text(Request::CallDisconnect, c.result, c.error, c.cause)
                )));
            }
            (PnsState::WaitStopReply, Message::StopControlReply { .. }) => {
                self.down(ControlDown::Closed)
            }
            (_, Message::StopControlRequest { reason }) => {
                self.conn.send(Message::StopControlReply {
                    result: 1,
                    error: 0,
                });
                let why = match reason {
                    2 => "the server stopped the control connection (stop-protocol)",
                    3 => "the server stopped the control connection (local shutdown)",
                    _ => "the server stopped the control connection",
                };
                self.down(ControlDown::PeerDisconnected(why.into()));
            }
            (_, m) => {
                debug!(message = m.name(), state = ?self.state, "unexpected PPTP control message ignored")
            }
        }
    }

    /// Tear down politely: Call-Clear-Request, then Stop-Control-Connection.
    pub fn close(&mut self, now: Instant) {
        match self.state {
            PnsState::Established | PnsState::WaitCallReply => {
                self.conn.send(Message::CallClearRequest {
                    call_id: self.call_id,
                });
                self.state = PnsState::WaitDisconnect;
                self.conn.expect_reply(now);
            }
            PnsState::WaitStartReply => self.down(ControlDown::Closed),
            _ => {}
        }
    }

    fn stop(&mut self, now: Instant) {
        self.conn.send(Message::StopControlRequest { reason: 1 });
        self.state = PnsState::WaitStopReply;
        self.conn.expect_reply(now);
    }

    /// The TCP connection ended.
    /// Our messages could not be written: the connection is as good as lost.
    pub fn connection_stalled(&mut self) {
        self.down(ControlDown::Stalled);
    }

    pub fn connection_closed(&mut self) {
        let why = if self.state == PnsState::WaitStopReply {
            ControlDown::Closed
        } else {
            ControlDown::PeerDisconnected("the server closed the control connection".into())
        };
        self.down(why);
    }
}

/// Server role: accepts one control connection and one outgoing call.
pub struct Pac {
    conn: Conn,
    call_id: u16,
    peer_call_id: Option<u16>,
    started: bool,
    closed: bool,
}

impl Pac {
    pub fn new(cfg: ControlConfig, call_id: u16, now: Instant) -> Self {
        Pac {
            conn: Conn::new(cfg, now),
            call_id,
            peer_call_id: None,
            started: false,
            closed: false,
        }
    }

    pub fn call_id(&self) -> u16 {
        self.call_id
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.conn.out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ControlEvent> {
        self.conn.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.closed)
            .then(|| self.conn.poll_timeout(self.peer_call_id.is_some()))
            .flatten()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.closed && self.conn.keepalive(now, self.peer_call_id.is_some()) {
            self.down(ControlDown::Timeout(Awaited::Echo));
        }
    }

    fn down(&mut self, why: ControlDown) {
        if !self.closed {
            self.closed = true;
            self.conn.events.push_back(ControlEvent::Down(why));
        }
    }

    pub fn input(&mut self, now: Instant, data: &[u8]) {
        if self.closed {
            return;
        }
        let msgs = match self.conn.next_messages(now, data) {
            Ok(m) => m,
            Err(e) => return self.down(ControlDown::Framing(e)),
        };
        for m in msgs {
            let Some(m) = self.conn.common(m) else {
                continue;
            };
            match m {
                Message::StartControlRequest(r) => {
                    let result = if self.started {
                        3
                    } else if r.version != PROTOCOL_VERSION {
                        5
                    } else {
                        1
                    };
                    self.started = true;
                    let reply = self.conn.cfg.start_control(result, 1);
                    self.conn.send(Message::StartControlReply(reply));
                }
                Message::OutgoingCallRequest(r) => {
                    let ok = self.started && self.peer_call_id.is_none();
                    self.conn
                        .send(Message::OutgoingCallReply(OutgoingCallReply {
                            call_id: self.call_id,
                            peer_call_id: r.call_id,
                            result: if ok { 1 } else { 2 },
                            error: if ok { 0 } else { 4 },
                            cause: 0,
                            connect_speed: r.max_bps,
                            recv_window: self.conn.cfg.recv_window,
                            processing_delay: 0,
                            channel_id: 0,
                        }));
                    if ok {
                        self.peer_call_id = Some(r.call_id);
                        self.conn.events.push_back(ControlEvent::CallUp {
                            peer_call_id: r.call_id,
                            peer_window: r.recv_window,
                        });
                    }
                }
                Message::CallClearRequest { .. } => {
                    self.conn
                        .send(Message::CallDisconnectNotify(CallDisconnectNotify {
                            call_id: self.call_id,
                            result: 4,
                            error: 0,
                            cause: 0,
                            statistics: String::new(),
                        }));
                    self.peer_call_id = None;
                }
                Message::StopControlRequest { .. } => {
                    self.conn.send(Message::StopControlReply {
                        result: 1,
                        error: 0,
                    });
                    self.down(ControlDown::PeerDisconnected(
                        "the client stopped the control connection".into(),
                    ));
                }
                m => debug!(message = m.name(), "PAC ignores message"),
            }
        }
        let _ = now;
    }

    /// Server-initiated hang-up.
    pub fn disconnect(&mut self) {
        if let Some(_peer) = self.peer_call_id.take() {
            self.conn
                .send(Message::CallDisconnectNotify(CallDisconnectNotify {
                    call_id: self.call_id,
                    result: 3,
                    error: 0,
                    cause: 0,
                    statistics: String::new(),
                }));
        }
        self.conn.send(Message::StopControlRequest { reason: 3 });
        self.down(ControlDown::Closed);
    }

    pub fn connection_stalled(&mut self) {
        self.down(ControlDown::Stalled);
    }

    pub fn connection_closed(&mut self) {
        self.down(ControlDown::PeerDisconnected(
            "the client closed the control connection".into(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pump(c: &mut Pns, s: &mut Pac, now: Instant) {
        for _ in 0..10 {
            while let Some(b) = c.poll_transmit() {
                s.input(now, &b);
            }
            while let Some(b) = s.poll_transmit() {
                c.input(now, &b);
            }
        }
    }

    #[test]
    fn call_setup_and_teardown() {
        let now = Instant::now();
        let mut c = Pns::new(ControlConfig::default(), 0x1234, now);
        let mut s = Pac::new(ControlConfig::default(), 0x5678, now);
        pump(&mut c, &mut s, now);
        assert_eq!(
            c.poll_event(),
            Some(ControlEvent::CallUp {
                peer_call_id: 0x5678,
                peer_window: 64
            })
        );
        assert_eq!(
            s.poll_event(),
            Some(ControlEvent::CallUp {
                peer_call_id: 0x1234,
                peer_window: 64
            })
        );
        c.close(now);
        pump(&mut c, &mut s, now);
        assert_eq!(
            c.poll_event(),
            Some(ControlEvent::Down(ControlDown::Closed))
        );
        assert_eq!(c.state(), PnsState::Closed);
    }

    #[test]
    fn keepalive_both_ways() {
        let mut now = Instant::now();
        let mut c = Pns::new(ControlConfig::default(), 1, now);
        let mut s = Pac::new(ControlConfig::default(), 2, now);
        pump(&mut c, &mut s, now);
        c.poll_event();
        // 60 s of silence: client sends an echo, server answers, no failure.
        now += Duration::from_secs(60);
        c.handle_timeout(now);
        s.handle_timeout(now);
        pump(&mut c, &mut s, now);
        assert_eq!(c.poll_event(), None);
        // Now the server goes silent: the next echo is never answered.
        now += Duration::from_secs(60);
        c.handle_timeout(now);
        while c.poll_transmit().is_some() {}
        now = c.poll_timeout().unwrap();
        c.handle_timeout(now);
        assert!(matches!(
            c.poll_event(),
            Some(ControlEvent::Down(ControlDown::Timeout(Awaited::Echo)))
        ));
    }

    /// A server's Start-Control-Connection-Reply with this result code.
    fn start_reply(result: u8) -> Message {
        Message::StartControlReply(StartControl {
            version: PROTOCOL_VERSION,
            result,
            error: 0,
            framing_caps: 0,
            bearer_caps: 0,
            max_channels: 0,
            firmware: 0,
            hostname: String::new(),
            vendor: String::new(),
        })
    }

    /// Result 0 in the Start-Control-Connection-Reply (undefined in RFC 2637,
    /// sent by some ADSL modems for success) goes on to the call, as with
    /// pptp-linux.
    #[test]
    fn a_start_reply_with_result_0_goes_on_to_the_call() {
        let now = Instant::now();
        let mut c = Pns::new(ControlConfig::default(), 1, now);
        c.poll_transmit();
        c.input(now, &start_reply(0).encode());
        assert_eq!(c.poll_event(), None);
        let sent = c.poll_transmit().expect("an outgoing-call request");
        assert!(matches!(
            Message::decode(&sent),
            Ok(Message::OutgoingCallRequest(_))
        ));
    }

    #[test]
    fn refused_and_silent_servers() {
        let now = Instant::now();
        let mut c = Pns::new(ControlConfig::default(), 1, now);
        c.poll_transmit();
        c.input(now, &start_reply(4).encode());
        let Some(ControlEvent::Down(d)) = c.poll_event() else {
            panic!()
        };
        assert_eq!(
            d.describe(),
            "the server refused the start-control-connection request: result 4 (not authorized)"
        );

        let mut c = Pns::new(ControlConfig::default(), 1, now);
        let t = c.poll_timeout().unwrap();
        assert_eq!(t, now + Duration::from_secs(60));
        c.handle_timeout(t);
        assert!(matches!(
            c.poll_event(),
            Some(ControlEvent::Down(ControlDown::Timeout(
                Awaited::StartReply
            )))
        ));
    }

    #[test]
    fn server_disconnect_and_framing_loss() {
        let now = Instant::now();
        let mut c = Pns::new(ControlConfig::default(), 1, now);
        let mut s = Pac::new(ControlConfig::default(), 2, now);
        pump(&mut c, &mut s, now);
        c.poll_event();
        s.disconnect();
        pump(&mut c, &mut s, now);
        let Some(ControlEvent::Down(ControlDown::PeerDisconnected(m))) = c.poll_event() else {
            panic!()
        };
        assert!(m.contains("administrative shutdown"), "{m}");

        let mut c = Pns::new(ControlConfig::default(), 1, now);
        c.input(now, &[0, 4, 0, 1]);
        assert!(matches!(
            c.poll_event(),
            Some(ControlEvent::Down(ControlDown::Framing(_)))
        ));
    }
}
