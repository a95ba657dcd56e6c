//! `cardwire atr`: decode an Answer-to-Reset (ISO/IEC 7816-3 §8) with every interface byte,
//! the protocols, Fi/Di, the historical bytes (ISO/IEC 7816-4 §8.1.1) and the TCK status.

use cardwire_link::atr::{Atr, EdcKind, InterfaceByte, InterfaceKind, Mode, fi_from_code};
use cardwire_tlv::compact::HistoricalBytes;
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::input::{hex_arg, to_hex};

/// Arguments of `cardwire atr`.
#[derive(clap::Args)]
pub struct Args {
    /// Treat any deviation from ISO/IEC 7816-3 (wrong or missing TCK, extra bytes, T=15 in
    /// TD1, RFU values) as a failure (exit 1). Without it the ATR is decoded with warnings.
    #[arg(long)]
    pub strict: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The ATR in hex (spaces, colons and newlines allowed), or `-` for standard input.
    pub input: String,
}

/// Runs `cardwire atr`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let bytes = hex_arg(&args.input)?;
    let mode = if args.strict {
        Mode::Strict
    } else {
        Mode::Lenient
    };
    let atr = Atr::parse(&bytes, mode).map_err(|e| Failure::Failed(format!("invalid ATR: {e}")))?;
    let mut warnings: Vec<String> = atr
        .findings()
        .iter()
        .map(|(_, why)| why.to_string())
        .collect();
    let historical = atr.historical();
    if let Err(e) = &historical {
        warnings.push(format!(
            "historical bytes do not follow ISO/IEC 7816-4 §8.1.1: {e}"
        ));
    }
    if args.strict && !warnings.is_empty() {
        return Err(Failure::Failed(format!(
            "ATR deviates from ISO/IEC 7816-3: {}",
            warnings.join("; ")
        )));
    }
    let report = report(&atr, historical.ok().as_ref(), &warnings);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print_text(&atr, &report);
    }
    Ok(())
}

fn meaning(b: &InterfaceByte) -> String {
    let v = b.value;
    match (b.kind, b.group, b.protocol) {
        (InterfaceKind::Td, _, _) => {
            let t = v & 0x0F;
            let what = if t == 15 {
                "global parameters".to_string()
            } else {
                format!("protocol T={t}")
            };
            let mut next = Vec::new();
            for (bit, name) in [(0x10, "TA"), (0x20, "TB"), (0x40, "TC"), (0x80, "TD")] {
                if v & bit != 0 {
                    next.push(format!("{name}{}", b.group + 1));
                }
            }
            format!(
                "{what}; next: {}",
                if next.is_empty() {
                    "none".to_string()
                } else {
                    next.join(" ")
                }
            )
        }
        (InterfaceKind::Ta, 1, _) => {
            match (fi_from_code(v >> 4), cardwire_link::atr::di_from_code(v)) {
                (Some((fi, f)), Some(di)) => {
                    format!("Fi={fi}, f max={} MHz, Di={di}", f as f64 / 1000.0)
                }
                (fi, di) => format!(
                    "Fi/f max {}, Di {}",
                    fi.map_or("RFU".to_string(), |(fi, f)| format!(
                        "{fi}/{} MHz",
                        f as f64 / 1000.0
                    )),
                    di.map_or("RFU".to_string(), |d| d.to_string())
                ),
            }
        }
        (InterfaceKind::Tb, 1 | 2, _) => format!("VPP (deprecated): {v:02X}"),
        (InterfaceKind::Tc, 1, _) => {
            if v == 255 {
                "extra guard time N=255 (minimum guard time)".to_string()
            } else {
                format!("extra guard time N={v} etu")
            }
        }
        (InterfaceKind::Ta, 2, _) => format!(
            "specific mode T={}, {} change mode, {} parameters",
            v & 0x0F,
            if v & 0x80 == 0 { "can" } else { "cannot" },
            if v & 0x10 != 0 { "implicit" } else { "TA1" }
        ),
        (InterfaceKind::Tc, 2, _) => format!("T=0 waiting time integer WI={v}"),
        (InterfaceKind::Ta, _, Some(1)) => format!("T=1 IFSC={v}"),
        (InterfaceKind::Tb, _, Some(1)) => format!("T=1 BWI={}, CWI={}", v >> 4, v & 0x0F),
        (InterfaceKind::Tc, _, Some(1)) => format!(
            "T=1 error detection: {}",
            if v & 1 != 0 { "CRC" } else { "LRC" }
        ),
        (InterfaceKind::Ta, _, Some(15)) => format!(
            "clock stop {}, class {}",
            match v >> 6 {
                0 => "not supported",
                1 => "state L",
                2 => "state H",
                _ => "no preference",
            },
            classes(v & 0x3F)
        ),
        (InterfaceKind::Tb, _, Some(15)) => format!("SPU: {v:02X}"),
        (_, _, Some(t)) => format!("specific to T={t}"),
        _ => "RFU".to_string(),
    }
}

fn classes(y: u8) -> String {
    let names: Vec<&str> = [(1, "A (5 V)"), (2, "B (3 V)"), (4, "C (1.8 V)")]
        .iter()
        .filter(|(bit, _)| y & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn kind_name(b: &InterfaceByte) -> String {
    let k = match b.kind {
        InterfaceKind::Ta => "TA",
        InterfaceKind::Tb => "TB",
        InterfaceKind::Tc => "TC",
        InterfaceKind::Td => "TD",
    };
    format!("{k}{}", b.group)
}

fn historical_json(h: Option<&HistoricalBytes<'_>>) -> Value {
    let Some(h) = h else { return Value::Null };
    let objects: Vec<Value> = h
        .objects()
        .map(|o| json!({"tag": format!("{:X}", o.tag().0), "value": to_hex(o.value())}))
        .collect();
    json!({
        "category": h.category().map(|c| format!("{:02X}", c.0)),
        "objects": objects,
        "status": h.status().map(|s| json!({
            "lcs": s.lcs.map(|l| format!("{l:02X}")),
            "sw": s.sw.map(|w| format!("{w:04X}")),
        })),
        "command_chaining": h.supports_command_chaining(),
        "extended_length": h.supports_extended_length(),
        "logical_channels": h.max_logical_channels(),
    })
}

fn report(atr: &Atr, historical: Option<&HistoricalBytes<'_>>, warnings: &[String]) -> Value {
    let interface: Vec<Value> = atr
        .interface_bytes()
        .map(|b| json!({"name": kind_name(&b), "value": format!("{:02X}", b.value), "meaning": meaning(&b)}))
        .collect();
    let protocols: Vec<u8> = atr.protocols().iter().collect();
    let mut v = json!({
        "atr": to_hex(atr.as_bytes()),
        "convention": match atr.convention() {
            cardwire_link::atr::Convention::Direct => "direct",
            cardwire_link::atr::Convention::Inverse => "inverse",
        },
        "t0": format!("{:02X}", atr.t0()),
        "interface_bytes": interface,
        "protocols": protocols,
        "default_protocol": atr.default_protocol(),
        "fi": atr.fi(),
        "di": atr.di(),
        "f_max_mhz": atr.f_max_khz().map(|f| f as f64 / 1000.0),
        "n": atr.extra_guard_time(),
        "wi": atr.wi(),
        "specific_mode": atr.specific_mode().map(|m| json!({
            "protocol": m.protocol, "can_change": m.can_change, "implicit": m.implicit,
        })),
        "historical_bytes": to_hex(atr.historical_bytes()),
        "historical": historical_json(historical),
        "tck": atr.tck().map(|t| format!("{t:02X}")),
        "tck_required": atr.tck_required(),
        "tck_ok": atr.tck_ok(),
        "warnings": warnings,
    });
    if atr.protocols().contains(1) {
        let t1 = atr.t1();
        insert(
            &mut v,
            "t1",
            json!({
                "ifsc": t1.ifsc,
                "bwi": t1.bwi,
                "cwi": t1.cwi,
                "edc": match t1.edc { EdcKind::Lrc => "lrc", EdcKind::Crc => "crc" },
            }),
        );
    }
    if let Some(x) = atr.clock_stop() {
        insert(&mut v, "clock_stop", json!(x));
        insert(&mut v, "class_indicator", json!(atr.class_indicator()));
    }
    v
}

fn insert(v: &mut Value, key: &str, value: Value) {
    if let Some(map) = v.as_object_mut() {
        map.insert(key.to_string(), value);
    }
}

fn print_text(atr: &Atr, r: &Value) {
    println!("ATR          {}", to_hex(atr.as_bytes()));
    println!(
        "TS           {:02X}  {} convention",
        atr.as_bytes().first().copied().unwrap_or(0),
        r["convention"].as_str().unwrap_or("")
    );
    println!(
        "T0           {:02X}  {} historical byte(s)",
        atr.t0(),
        atr.historical_bytes().len()
    );
    for b in atr.interface_bytes() {
        println!("{:<12} {:02X}  {}", kind_name(&b), b.value, meaning(&b));
    }
    let protocols: Vec<String> = atr.protocols().iter().map(|t| format!("T={t}")).collect();
    println!(
        "protocols    {} (default T={})",
        protocols.join(", "),
        atr.default_protocol()
    );
    let show = |v: &Value| {
        if v.is_null() {
            "RFU".to_string()
        } else {
            v.to_string()
        }
    };
    println!(
        "Fi/Di        {}/{}, f max {} MHz, N={}",
        show(&r["fi"]),
        show(&r["di"]),
        show(&r["f_max_mhz"]),
        atr.extra_guard_time()
    );
    if let Some(t1) = r.get("t1") {
        println!(
            "T=1          IFSC={} BWI={} CWI={} EDC={}",
            t1["ifsc"],
            t1["bwi"],
            t1["cwi"],
            t1["edc"].as_str().unwrap_or("")
        );
    }
    println!("historical   {}", to_hex(atr.historical_bytes()));
    if let Some(h) = r["historical"].as_object() {
        if let Some(c) = h.get("category").and_then(Value::as_str) {
            println!("  category   {c}");
        }
        for o in h
            .get("objects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            println!(
                "  tag {}      {}",
                o["tag"].as_str().unwrap_or(""),
                o["value"].as_str().unwrap_or("")
            );
        }
    }
    let tck = match (atr.tck(), atr.tck_ok()) {
        (Some(t), true) => format!("{t:02X} (correct)"),
        (Some(t), false) => format!("{t:02X} (WRONG)"),
        (None, true) => "absent (not required)".to_string(),
        (None, false) => "MISSING (required)".to_string(),
    };
    println!("TCK          {tck}");
    for w in r["warnings"].as_array().into_iter().flatten() {
        println!("warning: {}", w.as_str().unwrap_or(""));
    }
}
