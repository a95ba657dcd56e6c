//! Attribute templates: arbitrary attributes and templates never panic; a template matches
//! exactly when every item's bytes equal the object's, and `read_into` honours the
//! size-query protocol (PKCS#11 v2.40 §5.7.5) for every buffer size.
#![no_main]

use cardwire_pkcs11::attribute::{AttributeRead, Attributes, TemplateItem};
use cardwire_pkcs11::Rv;
use libfuzzer_sys::fuzz_target;

fn split(data: &[u8]) -> Vec<(u64, &[u8])> {
    // [type, len, value...]*
    let mut out = Vec::new();
    let mut rest = data;
    while let [kind, len, tail @ ..] = rest {
        let n = usize::from(*len % 16).min(tail.len());
        let (value, next) = tail.split_at(n);
        out.push((u64::from(*kind % 8), value));
        rest = next;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (object_part, template_part) = data.split_at(data.len() / 2);
    let mut attributes = Attributes::new();
    for (kind, value) in split(object_part) {
        if value.first() == Some(&0xFF) {
            attributes.set_sensitive(kind as _);
        } else {
            attributes.set(kind as _, value.to_vec());
        }
    }
    let template: Vec<TemplateItem<'_>> = split(template_part)
        .into_iter()
        .map(|(kind, value)| TemplateItem { kind: kind as _, value })
        .collect();
    let expected = template
        .iter()
        .all(|t| attributes.value(t.kind).is_some_and(|v| v == t.value));
    assert_eq!(attributes.matches(&template), expected);
    for t in &template {
        let _ = (t.ulong(), t.bool());
        let query = attributes.read_into(t.kind, None);
        for size in [0usize, 1, 7, 16] {
            let mut buf = vec![0xA5u8; size];
            match attributes.read_into(t.kind, Some(&mut buf)) {
                AttributeRead::Length(n) => {
                    assert_eq!(query, AttributeRead::Length(n));
                    assert!(n <= size);
                    assert_eq!(Some(&buf[..n]), attributes.value(t.kind));
                }
                AttributeRead::Failed(Rv::BUFFER_TOO_SMALL) => {
                    assert!(matches!(query, AttributeRead::Length(n) if n > size));
                    assert!(buf.iter().all(|&b| b == 0xA5), "nothing written");
                }
                AttributeRead::Failed(rv) => assert_eq!(query, AttributeRead::Failed(rv)),
            }
        }
    }
});
