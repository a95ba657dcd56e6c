#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// A test helper reports a broken rule by panicking, as `assert!` does.
#![allow(clippy::panic, clippy::indexing_slicing)]

/// Checks one message: not empty, no Debug output (`{`, `}`, `Some(`), and none of `tags`
/// (protocol bytes: tags, status words, class bytes) rendered in decimal.
///
/// # Panics
/// When the message breaks that rule (this is a test helper).
pub fn check_message(name: &str, message: &str, tags: &[u32]) {
    assert!(!message.trim().is_empty(), "{name}: empty message");
    assert!(
        !message.contains('{') && !message.contains('}'),
        "{name}: Debug output in {message:?}"
    );
    assert!(
        !message.contains("Some("),
        "{name}: Debug output in {message:?}"
    );
    for &tag in tags {
        let decimal = tag.to_string();
        let hit = message.match_indices(decimal.as_str()).any(|(i, _)| {
            let before = message.get(..i).and_then(|s| s.chars().last());
            let after = message
                .get(i + decimal.len()..)
                .and_then(|s| s.chars().next());
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        });
        assert!(
            tag < 10 || !hit,
            "{name}: {tag:02X} is shown in decimal ({decimal}) in {message:?}"
        );
    }
}

/// Checks every sample and that the samples cover every variant (`index` is an exhaustive
/// match, so a new variant does not compile until it has an index, and fails here until it
/// has a sample).
///
/// # Panics
/// When a message breaks the rule, or a variant has no sample.
pub fn walk_variants<E: core::fmt::Display>(
    samples: &[(E, &[u32])],
    index: fn(&E) -> usize,
    variants: usize,
) {
    let mut seen = vec![false; variants];
    for (e, tags) in samples {
        let i = index(e);
        seen[i] = true;
        check_message(&format!("variant {i}"), &e.to_string(), tags);
    }
    let missing: Vec<usize> = (0..variants).filter(|i| !seen[*i]).collect();
    assert!(missing.is_empty(), "variants without a sample: {missing:?}");
}
