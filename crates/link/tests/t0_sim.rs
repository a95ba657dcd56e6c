//! T=0 (ISO/IEC 7816-3 §10, §12.2) between the reader engine and a simulated card built on the
//! card-side engine: all four cases, 61xx/GET RESPONSE, 6Cxx, ENVELOPE, NULL and single-byte
//! procedure bytes, and the work waiting time.

// Test code: a failing test is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cardwire_link::sim::SplitMix64;
use cardwire_link::t0::{T0, T0Card, T0CardEvent, T0Config, T0Event};
use cardwire_link::{Error, Instant};

/// INS codes the simulated card treats as "P3 is Le" (the card knows its commands).
fn outgoing(ins: u8) -> bool {
    matches!(ins, 0xB0 | 0xCA | 0x84 | 0xC0)
}

/// The card application: response data for a logical command (header and data).
fn app(header: &[u8], data: &[u8]) -> Vec<u8> {
    // P2 bytes of a pattern mixed with the data, so that every byte position matters.
    let n = usize::from(header[3]) * 3 + data.len() % 7;
    (0..n)
        .map(|i| (i as u8) ^ data.get(i % data.len().max(1)).copied().unwrap_or(0x5A) ^ header[1])
        .collect()
}

struct SimCard {
    engine: T0Card<1024>,
    rng: SplitMix64,
    pending: Vec<u8>,
    envelope: Vec<u8>,
    /// Per mille: NULL bytes, single-byte procedure, 6Cxx on a wrong Le.
    noise: u16,
}

impl SimCard {
    fn on_header(&mut self, h: [u8; 5]) {
        while self.rng.chance(self.noise) {
            self.engine.null();
        }
        let p3 = usize::from(h[4]);
        if h[1] == 0xC0 {
            let n = if p3 == 0 { 256 } else { p3 };
            if self.pending.is_empty() {
                return self.engine.respond(&[], [0x6F, 0x00]);
            }
            if n > self.pending.len() {
                return self.engine.respond(&[], [0x6C, self.pending.len() as u8]);
            }
            let chunk: Vec<u8> = self.pending.drain(..n).collect();
            let sw = if self.pending.is_empty() {
                [0x90, 0]
            } else {
                [0x61, self.pending.len().min(256) as u8]
            };
            return self.engine.respond(&chunk, sw);
        }
        if outgoing(h[1]) {
            let rsp = app(&h[..4], &[]);
            let exact = rsp.len().min(256);
            let asked = if p3 == 0 { 256 } else { p3 };
            if asked != exact {
                return self.engine.respond(&[], [0x6C, exact as u8]);
            }
            self.pending = rsp[exact..].to_vec();
            let sw = if self.pending.is_empty() {
                [0x90, 0]
            } else {
                [0x61, self.pending.len().min(256) as u8]
            };
            return self.engine.respond(&rsp[..exact], sw);
        }
        if p3 == 0 {
            return self.finish_command(&h[..4], &[]);
        }
        self.ack();
    }

    fn ack(&mut self) {
        if self.rng.chance(self.noise) {
            self.engine.ack_one()
        } else {
            self.engine.ack_all()
        }
    }

    fn on_data(&mut self, h: [u8; 5], len: usize) {
        let p3 = usize::from(h[4]);
        if len < p3 {
            return self.ack();
        }
        let data = self.engine.data().to_vec();
        if h[1] == 0xC2 {
            self.envelope.extend_from_slice(&data);
            // The envelope is complete when it holds a whole extended command APDU.
            let env = &self.envelope;
            if env.len() >= 7 {
                let nc = usize::from(u16::from_be_bytes([env[5], env[6]]));
                if env.len() >= 7 + nc {
                    let (hdr, body) = (env[..4].to_vec(), env[7..7 + nc].to_vec());
                    self.envelope.clear();
                    return self.finish_command(&hdr, &body);
                }
            }
            return self.engine.respond(&[], [0x90, 0x00]);
        }
        self.finish_command(&h[..4], &data);
    }

    fn finish_command(&mut self, hdr: &[u8], data: &[u8]) {
        self.pending = app(hdr, data);
        if self.pending.is_empty() {
            self.engine.respond(&[], [0x90, 0x00]);
        } else {
            let n = self.pending.len().min(256) as u8;
            self.engine.respond(&[], [0x61, n]);
        }
    }
}

/// Runs one exchange; the card's replies may be delayed by `delay` µs.
fn exchange(
    reader: &mut T0<70000>,
    card: &mut SimCard,
    apdu: &[u8],
    delay: u64,
) -> Result<Vec<u8>, Error> {
    let mut now = Instant(0);
    reader.start(now, apdu)?;
    let mut buf = vec![0u8; 70000];
    for _ in 0..1_000_000 {
        if let Some(ev) = reader.poll_event() {
            return match ev {
                T0Event::Response { len } => Ok(reader.response()[..len].to_vec()),
                T0Event::Failed(e) => Err(e),
            };
        }
        if let Some(n) = reader.poll_transmit(&mut buf) {
            card.engine.handle_input(&buf[..n]);
            match card.engine.poll_event() {
                Some(T0CardEvent::Header(h)) => card.on_header(h),
                Some(T0CardEvent::Data { len }) => {
                    let h = card.engine.header();
                    card.on_data(h, len);
                }
                None => {}
            }
            continue;
        }
        now = now.add_micros(delay);
        if reader.poll_timeout().is_some_and(|d| now >= d) {
            reader.handle_timeout(now);
            continue;
        }
        match card.engine.poll_transmit(&mut buf) {
            Some(n) => {
                // Deliver the card's bytes one at a time, as a UART would.
                for &b in &buf[..n] {
                    reader.handle_input(now, &[b]);
                }
            }
            None => panic!("nobody talks"),
        }
    }
    panic!("hang")
}

fn card(seed: u64, noise: u16) -> SimCard {
    SimCard {
        engine: T0Card::new(),
        rng: SplitMix64::new(seed),
        pending: Vec::new(),
        envelope: Vec::new(),
        noise,
    }
}

/// Expected response (ISO/IEC 7816-3 §12.2): the application's data up to Ne, then 9000, or
/// 61xx when data remain (Ne = 0: no GET RESPONSE at all).
fn expected(apdu: &[u8]) -> Vec<u8> {
    let cmd = cardwire_apdu::Command::new_checked(apdu).unwrap();
    let hdr = [apdu[0], apdu[1], apdu[2], apdu[3]];
    let data = app(&hdr, cmd.data());
    let ne = cmd.ne() as usize;
    let mut rsp = data[..data.len().min(ne)].to_vec();
    if data.len() > ne {
        rsp.extend_from_slice(&[0x61, (data.len() - ne).min(256) as u8]);
    } else {
        rsp.extend_from_slice(&[0x90, 0x00]);
    }
    rsp
}

fn build(rng: &mut SplitMix64) -> Vec<u8> {
    let case = rng.below(6);
    let p2 = rng.below(120) as u8;
    match case {
        // Case 1.
        0 => vec![0x00, 0x44, 0x00, 0x00],
        // Case 2S with the Le the card expects (256 when it has more).
        1 => vec![
            0x00,
            0xB0,
            0x00,
            p2.max(1),
            (usize::from(p2.max(1)) * 3).min(256) as u8,
        ],
        // Case 3S.
        2 => {
            let nc = 1 + rng.below(255) as usize;
            let mut v = vec![0x00, 0xD6, 0x00, 0x00, nc as u8];
            v.extend((0..nc).map(|_| rng.next_u64() as u8));
            v
        }
        // Case 4S, Le = 00 (up to 256).
        3 => {
            let nc = 1 + rng.below(255) as usize;
            let mut v = vec![0x00, 0x88, 0x00, p2.min(85), nc as u8];
            v.extend((0..nc).map(|_| rng.next_u64() as u8));
            v.push(0x00);
            v
        }
        // Case 4E with more than 255 bytes: ENVELOPE, then GET RESPONSE with Ne = 65536.
        4 => {
            let nc = 256 + rng.below(2000) as usize;
            let mut v = vec![0x00, 0x2A, 0x00, p2, 0x00, (nc >> 8) as u8, nc as u8];
            v.extend((0..nc).map(|_| rng.next_u64() as u8));
            v.extend([0x00, 0x00]);
            v
        }
        // Case 2E, Ne = 65536: GET RESPONSE past 256 bytes.
        _ => vec![0x00, 0xCA, 0x00, p2.max(90), 0x00, 0x00, 0x00],
    }
}

fn run_one(reader: &mut T0<70000>, card: &mut SimCard, apdu: &[u8]) -> Result<Vec<u8>, Error> {
    exchange(reader, card, apdu, 50)
}

#[test]
fn seeded_exchanges_of_every_case_are_exact() {
    let mut rng = SplitMix64::new(0x7816_0010);
    let mut reader: T0<70000> = T0::new(T0Config::default());
    for i in 0..2000 {
        let mut c = card(rng.next_u64(), if i % 2 == 0 { 0 } else { 300 });
        let apdu = build(&mut rng);
        let got = run_one(&mut reader, &mut c, &apdu)
            .unwrap_or_else(|e| panic!("{i}: {e:?} for {apdu:02X?}"));
        assert_eq!(got, expected(&apdu), "{i}: {apdu:02X?}");
    }
}

#[test]
fn silence_past_wwt_is_a_timeout_and_the_engine_dies() {
    let cfg = T0Config::default();
    let mut reader: T0<70000> = T0::new(cfg);
    let mut c = card(1, 0);
    let err = exchange(
        &mut reader,
        &mut c,
        &[0x00, 0xB0, 0x00, 0x02, 0x06],
        2 * cfg.wwt_micros,
    )
    .unwrap_err();
    assert_eq!(err, Error::Timeout);
    assert!(reader.is_dead());
    assert_eq!(
        reader.start(Instant(0), &[0x00, 0x44, 0x00, 0x00]),
        Err(Error::Dead)
    );
    reader.reset();
    assert!(reader.start(Instant(0), &[0x00, 0x44, 0x00, 0x00]).is_ok());
}

#[test]
fn unknown_procedure_byte_is_a_protocol_violation() {
    let mut reader: T0<300> = T0::new(T0Config::default());
    reader
        .start(Instant(0), &[0x00, 0xB0, 0x00, 0x00, 0x02])
        .unwrap();
    let mut buf = [0u8; 300];
    reader.poll_transmit(&mut buf).unwrap();
    reader.handle_input(Instant(1), &[0x42]);
    assert_eq!(
        reader.poll_event(),
        Some(T0Event::Failed(Error::ProtocolViolation { byte: 0x42 }))
    );
}

#[test]
fn wrong_le_is_resent_with_the_cards_length() {
    // §12.2.2 case 2S: Le = 2 but the card has 6 bytes: 6C 06, then the reader re-sends.
    let mut reader: T0<70000> = T0::new(T0Config::default());
    let mut c = card(3, 0);
    let apdu = [0x00, 0xB0, 0x00, 0x02, 0x02];
    let mut want = app(&apdu[..4], &[]);
    assert_eq!(want.len(), 6);
    want.extend([0x90, 0x00]);
    assert_eq!(exchange(&mut reader, &mut c, &apdu, 50).unwrap(), want);
}

/// Issue 12: a card that sends a NULL byte just before every work waiting time would keep
/// the reader for `max_nulls` × WT (about 2.5 hours at the defaults); the per-exchange
/// deadline ends it at 60 s of virtual time.
#[test]
fn endless_null_bytes_end_at_the_exchange_deadline() {
    let cfg = T0Config::default();
    assert_eq!(
        cfg.exchange_deadline_micros,
        cardwire_link::DEFAULT_EXCHANGE_DEADLINE_MICROS
    );
    assert_eq!(cfg.exchange_deadline_micros, 60_000_000);
    let mut t0: T0<300> = T0::new(cfg);
    let start = Instant(5_000);
    t0.start(start, &[0x00, 0xB0, 0x00, 0x00, 0x02]).unwrap();
    let mut buf = [0u8; 300];
    let mut now = start;
    let mut nulls = 0u32;
    let err = loop {
        while t0.poll_transmit(&mut buf).is_some() {}
        if let Some(T0Event::Failed(e)) = t0.poll_event() {
            break e;
        }
        let due = t0
            .poll_timeout()
            .expect("a running exchange has a deadline");
        // The card answers with NULL just before the work waiting time runs out.
        let next = Instant(now.0 + cfg.wwt_micros - 1);
        if next < due {
            now = next;
            nulls += 1;
            t0.handle_input(now, &[0x60]);
        } else {
            now = due;
            t0.handle_timeout(now);
        }
        assert!(
            nulls < cfg.max_nulls,
            "NULL bytes not cut off by the deadline"
        );
    };
    assert_eq!(err, Error::DeadlineExceeded);
    assert_eq!(now, start.add_micros(60_000_000));
    assert!(nulls > 60, "{nulls}");
    assert!(t0.is_dead());
    assert_eq!(
        t0.start(now, &[0x00, 0xB0, 0x00, 0x00, 0x02]),
        Err(Error::Dead)
    );
    t0.reset();
    assert!(t0.start(now, &[0x00, 0xB0, 0x00, 0x00, 0x02]).is_ok());
}

/// A deadline turned off (`u64::MAX`) leaves the NULL byte limit as the only bound.
#[test]
fn without_a_deadline_the_null_limit_still_holds() {
    let cfg = T0Config {
        exchange_deadline_micros: u64::MAX,
        max_nulls: 50,
        ..T0Config::default()
    };
    let mut t0: T0<300> = T0::new(cfg);
    t0.start(Instant(0), &[0x00, 0xB0, 0x00, 0x00, 0x02])
        .unwrap();
    let mut buf = [0u8; 300];
    while t0.poll_transmit(&mut buf).is_some() {}
    let mut now = Instant(0);
    let err = loop {
        if let Some(T0Event::Failed(e)) = t0.poll_event() {
            break e;
        }
        now = Instant(now.0 + cfg.wwt_micros - 1);
        t0.handle_input(now, &[0x60]);
    };
    assert_eq!(err, Error::ProtocolViolation { byte: 0x60 });
    assert_eq!(now.0, 51 * (cfg.wwt_micros - 1));
}
