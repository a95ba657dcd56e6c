//! `cardwire tlv`: decode BER-TLV (default), SIMPLE-TLV or COMPACT-TLV and print the tree.

use std::fmt::Write as _;

use cardwire_tlv::compact::{self, HistoricalBytes};
use cardwire_tlv::{Mode, Options, Tag, Walker, names, simple};

use crate::failure::Failure;
use crate::input::{hex_arg, to_hex};

/// Arguments of `cardwire tlv`.
#[derive(clap::Args)]
pub struct Args {
    /// Read SIMPLE-TLV (ISO/IEC 7816-4 §5.2.1) instead of BER-TLV.
    #[arg(long, conflicts_with = "compact")]
    pub simple: bool,
    /// Read COMPACT-TLV (ISO/IEC 7816-4 §8.1.1); input starting with a category indicator
    /// (00, 10 or 80) is read as the historical bytes of an ATR.
    #[arg(long)]
    pub compact: bool,
    /// BER-TLV parsing mode.
    #[arg(long, value_enum, default_value_t = ModeArg::Lenient)]
    pub mode: ModeArg,
    /// Print the tree as JSON.
    #[arg(long)]
    pub json: bool,
    /// Hex bytes (spaces, colons and newlines allowed), or `-` for standard input.
    pub input: String,
}

/// `--mode`, as `cardwire_tlv::Mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// DER-like: minimal lengths, no 00/FF tags, no padding.
    Strict,
    /// ISO/IEC 7816 files: 00/FF filler between objects skipped.
    Iso,
    /// ISO mode plus EMV tags (9F01-9F1E, 5F01, BF0C) and non-minimal lengths.
    Lenient,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Strict => Mode::Strict,
            ModeArg::Iso => Mode::Iso,
            ModeArg::Lenient => Mode::Lenient,
        }
    }
}

/// One decoded node, in the order the walk meets it.
struct Node<'a> {
    depth: usize,
    tag: String,
    name: Option<&'static str>,
    constructed: bool,
    length: usize,
    offset: usize,
    value: &'a [u8],
}

/// Runs `cardwire tlv`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let bytes = hex_arg(&args.input)?;
    let mut out = String::new();
    let nodes = if args.simple {
        simple_nodes(&bytes)?
    } else if args.compact {
        let (nodes, header) = compact_nodes(&bytes)?;
        if !args.json {
            out.push_str(&header);
        }
        nodes
    } else {
        ber_nodes(&bytes, Options::from(Mode::from(args.mode)))?
    };
    if args.json {
        write_json(&mut out, &nodes);
        out.push('\n');
    } else {
        write_text(&mut out, &nodes);
    }
    print!("{out}");
    Ok(())
}

fn malformed(kind: &str, e: cardwire_tlv::Error) -> Failure {
    Failure::Failed(format!("malformed {kind}: {e}"))
}

fn ber_nodes(bytes: &[u8], opts: Options) -> Result<Vec<Node<'_>>, Failure> {
    let mut nodes = Vec::new();
    // Tags of the open constructed objects, to name context-specific tags by their parent.
    let mut parents: Vec<Tag> = Vec::new();
    for item in Walker::new(bytes, opts) {
        let (depth, tlv) = item.map_err(|e| malformed("BER-TLV", e))?;
        let depth = depth as usize;
        parents.truncate(depth - 1);
        let parent = parents.last().copied();
        nodes.push(Node {
            depth,
            tag: tlv.tag().to_string(),
            name: names::name(tlv.tag(), parent),
            constructed: tlv.is_constructed(),
            length: tlv.len(),
            offset: tlv.offset(),
            value: tlv.value(),
        });
        if tlv.is_constructed() {
            parents.push(tlv.tag());
        }
    }
    Ok(nodes)
}

fn simple_nodes(bytes: &[u8]) -> Result<Vec<Node<'_>>, Failure> {
    let all = simple::parse_all(bytes).map_err(|e| malformed("SIMPLE-TLV", e))?;
    Ok(all
        .map(|t| Node {
            depth: 1,
            tag: format!("{:02X}", t.tag()),
            name: None,
            constructed: false,
            length: t.value().len(),
            offset: t.offset(),
            value: t.value(),
        })
        .collect())
}

/// COMPACT-TLV objects, and for historical bytes a description of category and capabilities.
fn compact_nodes(bytes: &[u8]) -> Result<(Vec<Node<'_>>, String), Failure> {
    let mut header = String::new();
    let objects = match bytes.first() {
        Some(0x00 | 0x10 | 0x80) => {
            let hb = HistoricalBytes::parse(bytes).map_err(|e| malformed("historical bytes", e))?;
            describe_historical(&mut header, &hb);
            hb.objects()
        }
        _ => compact::parse_all(bytes).map_err(|e| malformed("COMPACT-TLV", e))?,
    };
    let nodes = objects
        .map(|t| Node {
            depth: 1,
            tag: format!("{:X}", t.tag().0),
            name: compact_name(t.tag()),
            constructed: false,
            length: t.value().len(),
            offset: t.offset(),
            value: t.value(),
        })
        .collect();
    Ok((nodes, header))
}

fn compact_name(tag: compact::CompactTag) -> Option<&'static str> {
    use compact::CompactTag as T;
    Some(match tag {
        T::COUNTRY_CODE => "Country code and national data",
        T::ISSUER_IDENTIFICATION => "Issuer identification number",
        T::CARD_SERVICE_DATA => "Card service data",
        T::INITIAL_ACCESS_DATA => "Initial access data",
        T::CARD_ISSUER_DATA => "Card issuer's data",
        T::PRE_ISSUING_DATA => "Pre-issuing data",
        T::CARD_CAPABILITIES => "Card capabilities",
        T::STATUS_INDICATOR => "Status indicator",
        T::APPLICATION_IDENTIFIER => "Application identifier",
        _ => return None,
    })
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn describe_historical(out: &mut String, hb: &HistoricalBytes<'_>) {
    if let Some(c) = hb.category() {
        let what = match c.0 {
            0x00 => "COMPACT-TLV objects, status indicator in the last three bytes",
            0x10 => "DIR data reference",
            _ => "COMPACT-TLV objects",
        };
        let _ = writeln!(out, "category {:02X}: {what}", c.0);
    }
    if let Some(r) = hb.dir_data_reference() {
        let _ = writeln!(out, "DIR data reference: {r:02X}");
    }
    if let Some(caps) = hb.card_capabilities() {
        let _ = writeln!(
            out,
            "card capabilities: command chaining {}, extended Lc/Le {}, logical channels {}",
            yes_no(caps.command_chaining()),
            yes_no(caps.extended_lc_le()),
            caps.max_logical_channels()
        );
    }
    if let Some(s) = hb.status() {
        let mut line = String::from("status indicator:");
        if let Some(lcs) = s.lcs {
            let _ = write!(line, " LCS {lcs:02X}");
        }
        if let Some(sw) = s.sw {
            let _ = write!(line, " SW {sw:04X}");
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The value as text when it is all printable ASCII.
fn printable(value: &[u8]) -> Option<&str> {
    let ok = !value.is_empty() && value.iter().all(|b| (0x20..0x7F).contains(b));
    if ok {
        std::str::from_utf8(value).ok()
    } else {
        None
    }
}

fn write_text(out: &mut String, nodes: &[Node<'_>]) {
    for n in nodes {
        let indent = "  ".repeat(n.depth.saturating_sub(1));
        let _ = write!(out, "{indent}{} ({})", n.tag, n.length);
        if let Some(name) = n.name {
            let _ = write!(out, " {name}");
        }
        if !n.constructed {
            let _ = write!(out, ": {}", to_hex(n.value));
            if let Some(text) = printable(n.value) {
                let _ = write!(out, " \"{text}\"");
            }
        }
        out.push('\n');
    }
}

/// `[{"tag": "6F", "constructed": true, "length": 36, "offset": 0, "children": [...]}]`,
/// written without recursion from the depth-first node list.
fn write_json(out: &mut String, nodes: &[Node<'_>]) {
    out.push('[');
    // Depth of the innermost open "children" array.
    let mut open = 0usize;
    let mut first_in_level = true;
    for n in nodes {
        while open + 1 > n.depth {
            out.push_str("]}");
            open -= 1;
            first_in_level = false;
        }
        if !first_in_level {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"tag\":\"{}\",\"constructed\":{},\"length\":{},\"offset\":{},",
            n.tag, n.constructed, n.length, n.offset
        );
        if n.constructed {
            out.push_str("\"children\":[");
            open += 1;
            first_in_level = true;
        } else {
            let _ = write!(out, "\"value\":\"{}\"}}", to_hex(n.value));
            first_in_level = false;
        }
    }
    for _ in 0..open {
        out.push_str("]}");
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    const FCI: &str =
        "6F24840E315041592E5359532E4444463031A5128801015F2D08656E6573667264659F110101";

    #[test]
    fn json_nests_children_and_closes_levels() {
        let bytes = crate::input::parse_hex("A1 04 A2 02 80 00 81 01 AA").unwrap();
        let nodes = ber_nodes(&bytes, Options::default()).unwrap();
        let mut s = String::new();
        write_json(&mut s, &nodes);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v[0]["tag"], "A1");
        assert_eq!(v[0]["children"][0]["children"][0]["tag"], "80");
        assert_eq!(v[0]["children"][0]["children"][0]["value"], "");
        assert_eq!(v[1]["value"], "AA");
        assert_eq!(v[1]["offset"], 6);
        assert_eq!(v.as_array().unwrap().len(), 2);
    }

    #[test]
    fn text_names_tags_and_shows_ascii() {
        let bytes = crate::input::parse_hex(FCI).unwrap();
        let nodes = ber_nodes(&bytes, Options::default()).unwrap();
        let mut s = String::new();
        write_text(&mut s, &nodes);
        assert!(
            s.starts_with("6F (36) File Control Information (FCI) template\n"),
            "{s}"
        );
        assert!(s.contains("  84 (14) Dedicated file (DF) name: 315041592E5359532E4444463031 \"1PAY.SYS.DDF01\"\n"), "{s}");
        assert!(
            s.contains("    5F2D (8) Language preference: 656E657366726465 \"enesfrde\"\n"),
            "{s}"
        );
    }

    #[test]
    fn empty_input_is_an_empty_tree() {
        let nodes = ber_nodes(&[], Options::default()).unwrap();
        let mut s = String::new();
        write_json(&mut s, &nodes);
        assert_eq!(s, "[]");
    }
}
