//! `cardwire apdu`: decode a command APDU, or with `--response` a response APDU.

use std::fmt::Write as _;

use cardwire_apdu::{Cla, ClaKind, Command, Response, SecureMessaging};
use cardwire_tlv::{Options, Tag, Walker, names};
use serde_json::{Map, Value, json};

use crate::failure::Failure;
use crate::input::{hex_arg, to_hex};

/// Arguments of `cardwire apdu`.
#[derive(clap::Args)]
pub struct Args {
    /// Decode a response APDU (data then SW1 SW2) instead of a command APDU.
    #[arg(long)]
    pub response: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Hex bytes (spaces, colons and newlines allowed), or `-` for standard input.
    pub input: String,
}

/// Runs `cardwire apdu`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let bytes = hex_arg(&args.input)?;
    let out = if args.response {
        let rsp = Response::new_checked(&bytes[..])
            .map_err(|e| Failure::Failed(format!("malformed response APDU: {e}")))?;
        if args.json {
            response_json(&rsp).to_string()
        } else {
            response_text(&rsp)
        }
    } else {
        let cmd = Command::new_checked(&bytes[..])
            .map_err(|e| Failure::Failed(format!("malformed command APDU: {e}")))?;
        if args.json {
            command_json(&cmd).to_string()
        } else {
            command_text(&cmd)
        }
    };
    println!("{}", out.trim_end());
    Ok(())
}

fn kind_name(cla: Cla) -> &'static str {
    match cla.kind() {
        ClaKind::FirstInterindustry => "interindustry",
        ClaKind::FurtherInterindustry => "interindustry (further)",
        ClaKind::Reserved => "reserved for future use",
        ClaKind::Proprietary => "proprietary",
        _ => "invalid",
    }
}

fn sm_name(sm: SecureMessaging) -> &'static str {
    match sm {
        SecureMessaging::None => "none",
        SecureMessaging::Proprietary => "proprietary",
        SecureMessaging::HeaderNotProcessed => "ISO, header not processed",
        SecureMessaging::HeaderAuthenticated => "ISO, header authenticated",
        _ => "unknown",
    }
}

fn command_text(cmd: &Command<&[u8]>) -> String {
    let cla = cmd.cla();
    let mut s = String::new();
    let _ = writeln!(s, "case {}", cmd.case());
    let _ = writeln!(
        s,
        "CLA  {cla} ({}, channel {}, chaining {}, secure messaging {})",
        kind_name(cla),
        cla.channel(),
        if cla.chaining() { "yes" } else { "no" },
        sm_name(cla.secure_messaging())
    );
    let ins = cmd.ins();
    let _ = writeln!(
        s,
        "INS  {:02X} {}",
        ins.0,
        ins.name().unwrap_or("(not interindustry)")
    );
    let _ = writeln!(s, "P1   {:02X}", cmd.p1());
    let _ = writeln!(s, "P2   {:02X}", cmd.p2());
    let _ = writeln!(s, "Nc   {}", cmd.nc());
    if cmd.nc() > 0 {
        let _ = writeln!(s, "data {}", to_hex(cmd.data()));
    }
    let _ = writeln!(s, "Ne   {}", cmd.ne());
    s
}

fn command_json(cmd: &Command<&[u8]>) -> Value {
    let cla = cmd.cla();
    let ins = cmd.ins();
    json!({
        "case": cmd.case().as_str(),
        "cla": format!("{:02X}", cla.0),
        "channel": cla.channel(),
        "chaining": cla.chaining(),
        "secure_messaging": sm_name(cla.secure_messaging()),
        "ins": format!("{:02X}", ins.0),
        "ins_name": ins.name(),
        "p1": format!("{:02X}", cmd.p1()),
        "p2": format!("{:02X}", cmd.p2()),
        "nc": cmd.nc(),
        "data": to_hex(cmd.data()),
        "ne": cmd.ne(),
    })
}

/// One BER-TLV node from the walk.
struct Node {
    depth: usize,
    tag: Tag,
    constructed: bool,
    length: usize,
    offset: usize,
    value: String,
}

/// The data as BER-TLV nodes (depth-first), or `None` when it is empty or not BER-TLV.
fn tlv_nodes(data: &[u8]) -> Option<Vec<Node>> {
    if data.is_empty() {
        return None;
    }
    let mut nodes = Vec::new();
    for item in Walker::new(data, Options::default()) {
        let (depth, tlv) = item.ok()?;
        nodes.push(Node {
            depth: depth as usize,
            tag: tlv.tag(),
            constructed: tlv.is_constructed(),
            length: tlv.len(),
            offset: tlv.offset(),
            value: to_hex(tlv.value()),
        });
    }
    Some(nodes)
}

/// The tree in `cardwire tlv --json`'s form: `[{"tag", "constructed", "length", "offset",
/// "children" | "value"}]`, built without recursion.
fn tlv_json(nodes: &[Node]) -> Value {
    // Open levels: each holds the node waiting for its children and the children so far.
    let mut stack: Vec<(Map<String, Value>, Vec<Value>)> = Vec::new();
    let mut top: Vec<Value> = Vec::new();
    fn close(stack: &mut Vec<(Map<String, Value>, Vec<Value>)>, top: &mut Vec<Value>) {
        if let Some((mut obj, children)) = stack.pop() {
            obj.insert("children".into(), Value::Array(children));
            match stack.last_mut() {
                Some((_, siblings)) => siblings.push(Value::Object(obj)),
                None => top.push(Value::Object(obj)),
            }
        }
    }
    for n in nodes {
        while stack.len() + 1 > n.depth && !stack.is_empty() {
            close(&mut stack, &mut top);
        }
        let mut obj = Map::new();
        obj.insert("tag".into(), Value::String(n.tag.to_string()));
        obj.insert("constructed".into(), Value::Bool(n.constructed));
        obj.insert("length".into(), json!(n.length));
        obj.insert("offset".into(), json!(n.offset));
        if n.constructed {
            stack.push((obj, Vec::new()));
        } else {
            obj.insert("value".into(), Value::String(n.value.clone()));
            match stack.last_mut() {
                Some((_, siblings)) => siblings.push(Value::Object(obj)),
                None => top.push(Value::Object(obj)),
            }
        }
    }
    while !stack.is_empty() {
        close(&mut stack, &mut top);
    }
    Value::Array(top)
}

fn response_json(rsp: &Response<&[u8]>) -> Value {
    let sw = rsp.sw();
    let mut obj = Map::new();
    obj.insert("data".into(), Value::String(to_hex(rsp.data())));
    obj.insert("sw".into(), Value::String(sw.to_string()));
    obj.insert("sw_meaning".into(), Value::String(sw.description().into()));
    if let Some(nodes) = tlv_nodes(rsp.data()) {
        obj.insert("data_tlv".into(), tlv_json(&nodes));
    }
    Value::Object(obj)
}

fn response_text(rsp: &Response<&[u8]>) -> String {
    let mut s = String::new();
    let data = rsp.data();
    if data.is_empty() {
        let _ = writeln!(s, "data (0 bytes)");
    } else {
        let _ = writeln!(s, "data ({} bytes) {}", data.len(), to_hex(data));
    }
    if let Some(nodes) = tlv_nodes(data) {
        let mut parents: Vec<Tag> = Vec::new();
        for n in &nodes {
            parents.truncate(n.depth.saturating_sub(1));
            let name = names::name(n.tag, parents.last().copied()).unwrap_or("");
            let indent = "  ".repeat(n.depth);
            if n.constructed {
                let _ = writeln!(s, "{indent}{} ({}) {name}", n.tag, n.length);
                parents.push(n.tag);
            } else {
                let _ = writeln!(s, "{indent}{} ({}) {name}: {}", n.tag, n.length, n.value);
            }
        }
    }
    let sw = rsp.sw();
    let _ = writeln!(s, "SW   {sw} {}", sw.description());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_json_nests_like_the_tlv_command() {
        let data = crate::input::parse_hex("A1 04 A2 02 80 00 81 01 AA").unwrap();
        let v = tlv_json(&tlv_nodes(&data).unwrap());
        assert_eq!(v[0]["tag"], "A1");
        assert_eq!(v[0]["children"][0]["children"][0]["tag"], "80");
        assert_eq!(v[0]["children"][0]["children"][0]["value"], "");
        assert_eq!(v[1]["value"], "AA");
        assert_eq!(v[1]["offset"], 6);
        assert_eq!(v.as_array().unwrap().len(), 2);
    }

    #[test]
    fn non_tlv_data_has_no_tree() {
        assert!(tlv_nodes(&[]).is_none());
        assert!(tlv_nodes(&[0x01, 0x05, 0x00]).is_none());
    }
}
