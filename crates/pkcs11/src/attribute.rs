//! Object attributes, templates and the `C_GetAttributeValue` size-query protocol
//! (PKCS#11 v2.40 base specification §4.1, §5.7.5).
//!
//! Values are stored as the bytes an application reads: `CK_BBOOL` as one byte, `CK_ULONG`
//! in the platform's native width and byte order, everything else as it is. Templates compare
//! those bytes, so a template matches exactly when `C_GetAttributeValue` would return the
//! same bytes.

use cryptoki_sys as ck;

use crate::error::{Result, Rv};

/// An attribute type (`CKA_*`).
pub type AttributeType = ck::CK_ATTRIBUTE_TYPE;

/// The encoding of a `CK_BBOOL`.
pub fn bool_bytes(value: bool) -> Vec<u8> {
    vec![if value { ck::CK_TRUE } else { ck::CK_FALSE }]
}

/// The encoding of a `CK_ULONG` (native width and byte order).
pub fn ulong_bytes(value: ck::CK_ULONG) -> Vec<u8> {
    value.to_ne_bytes().to_vec()
}

/// Reads a `CK_ULONG` attribute value; `None` for a value of the wrong length.
pub fn ulong_from(bytes: &[u8]) -> Option<ck::CK_ULONG> {
    Some(ck::CK_ULONG::from_ne_bytes(bytes.try_into().ok()?))
}

/// Reads a `CK_BBOOL` attribute value; `None` for a value of the wrong length.
pub fn bool_from(bytes: &[u8]) -> Option<bool> {
    match bytes {
        [b] => Some(*b != ck::CK_FALSE),
        _ => None,
    }
}

/// One attribute of an object.
#[derive(Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The type.
    pub kind: AttributeType,
    /// The value; `None` for a sensitive attribute that exists but cannot be revealed.
    pub value: Option<Vec<u8>>,
}

impl core::fmt::Debug for Attribute {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.value {
            Some(v) => write!(f, "0x{:X}: {} bytes", self.kind, v.len()),
            None => write!(f, "0x{:X}: sensitive", self.kind),
        }
    }
}

/// The attributes of one object, at most one per type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    items: Vec<Attribute>,
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `kind` to `value`, replacing an earlier value.
    pub fn set(&mut self, kind: AttributeType, value: Vec<u8>) -> &mut Self {
        self.put(Attribute {
            kind,
            value: Some(value),
        })
    }

    /// Sets a `CK_BBOOL` attribute.
    pub fn set_bool(&mut self, kind: AttributeType, value: bool) -> &mut Self {
        self.set(kind, bool_bytes(value))
    }

    /// Sets a `CK_ULONG` attribute.
    pub fn set_ulong(&mut self, kind: AttributeType, value: ck::CK_ULONG) -> &mut Self {
        self.set(kind, ulong_bytes(value))
    }

    /// Marks `kind` as present but sensitive (`CKR_ATTRIBUTE_SENSITIVE` on read).
    pub fn set_sensitive(&mut self, kind: AttributeType) -> &mut Self {
        self.put(Attribute { kind, value: None })
    }

    fn put(&mut self, attribute: Attribute) -> &mut Self {
        match self.items.iter_mut().find(|a| a.kind == attribute.kind) {
            Some(existing) => *existing = attribute,
            None => self.items.push(attribute),
        }
        self
    }

    /// The attribute of type `kind`.
    pub fn get(&self, kind: AttributeType) -> Option<&Attribute> {
        self.items.iter().find(|a| a.kind == kind)
    }

    /// The readable value of `kind`.
    pub fn value(&self, kind: AttributeType) -> Option<&[u8]> {
        self.get(kind).and_then(|a| a.value.as_deref())
    }

    /// A `CK_ULONG` attribute's value.
    pub fn ulong(&self, kind: AttributeType) -> Option<ck::CK_ULONG> {
        self.value(kind).and_then(ulong_from)
    }

    /// A `CK_BBOOL` attribute's value.
    pub fn bool(&self, kind: AttributeType) -> Option<bool> {
        self.value(kind).and_then(bool_from)
    }

    /// Whether every attribute of `template` is present with exactly the given bytes
    /// (PKCS#11 §5.7.5 C_FindObjectsInit: an empty template matches every object). A sensitive
    /// attribute never matches.
    pub fn matches(&self, template: &[TemplateItem<'_>]) -> bool {
        template
            .iter()
            .all(|t| self.value(t.kind).is_some_and(|v| v == t.value))
    }

    /// Answers one attribute of a `C_GetAttributeValue` request (PKCS#11 v2.40 §5.7.5):
    /// returns the length to report and the error for this attribute, copying the value
    /// into `buffer` when one is given and is large enough.
    pub fn read_into(&self, kind: AttributeType, buffer: Option<&mut [u8]>) -> AttributeRead {
        let Some(attribute) = self.get(kind) else {
            return AttributeRead::Failed(Rv::ATTRIBUTE_TYPE_INVALID);
        };
        let Some(value) = attribute.value.as_deref() else {
            return AttributeRead::Failed(Rv::ATTRIBUTE_SENSITIVE);
        };
        match buffer {
            None => AttributeRead::Length(value.len()),
            Some(out) => match out.get_mut(..value.len()) {
                Some(dst) => {
                    dst.copy_from_slice(value);
                    AttributeRead::Length(value.len())
                }
                None => AttributeRead::Failed(Rv::BUFFER_TOO_SMALL),
            },
        }
    }

    /// All attributes.
    pub fn iter(&self) -> impl Iterator<Item = &Attribute> {
        self.items.iter()
    }
}

/// The answer for one attribute of `C_GetAttributeValue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeRead {
    /// The value's length (copied when a buffer was given).
    Length(usize),
    /// The length is reported as `CK_UNAVAILABLE_INFORMATION` and the call returns this.
    Failed(Rv),
}

/// The result of a whole `C_GetAttributeValue` request (PKCS#11 v2.40 §5.7.5): every
/// attribute is processed; the call returns `CKR_ATTRIBUTE_SENSITIVE`,
/// `CKR_ATTRIBUTE_TYPE_INVALID` or `CKR_BUFFER_TOO_SMALL` when any attribute failed that
/// way (the first such failure), `CKR_OK` otherwise.
///
/// # Errors
/// The first failure among `reads`.
pub fn combine(reads: impl IntoIterator<Item = AttributeRead>) -> Result<()> {
    let mut first = None;
    for read in reads {
        if let AttributeRead::Failed(rv) = read {
            first.get_or_insert(rv);
        }
    }
    first.map_or(Ok(()), Err)
}

/// One attribute of a search or creation template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateItem<'a> {
    /// The type.
    pub kind: AttributeType,
    /// The value bytes.
    pub value: &'a [u8],
}

impl TemplateItem<'_> {
    /// The value as a `CK_ULONG`.
    ///
    /// # Errors
    /// `CKR_ATTRIBUTE_VALUE_INVALID` when the value has the wrong length.
    pub fn ulong(&self) -> Result<ck::CK_ULONG> {
        ulong_from(self.value).ok_or(Rv::ATTRIBUTE_VALUE_INVALID)
    }

    /// The value as a `CK_BBOOL`.
    ///
    /// # Errors
    /// `CKR_ATTRIBUTE_VALUE_INVALID` when the value has the wrong length.
    pub fn bool(&self) -> Result<bool> {
        bool_from(self.value).ok_or(Rv::ATTRIBUTE_VALUE_INVALID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_like() -> Attributes {
        let mut a = Attributes::new();
        a.set_ulong(ck::CKA_CLASS, ck::CKO_CERTIFICATE)
            .set_bool(ck::CKA_TOKEN, true)
            .set(ck::CKA_ID, vec![0x01])
            .set(
                ck::CKA_LABEL,
                b"Certificate for PIV Authentication".to_vec(),
            )
            .set_sensitive(ck::CKA_VALUE);
        a
    }

    #[test]
    fn templates_match_exact_bytes() {
        let a = cert_like();
        let class = ulong_bytes(ck::CKO_CERTIFICATE);
        let other = ulong_bytes(ck::CKO_PRIVATE_KEY);
        let t = |kind, value| TemplateItem { kind, value };
        assert!(a.matches(&[]));
        assert!(a.matches(&[t(ck::CKA_CLASS, &class[..]), t(ck::CKA_ID, &[0x01])]));
        assert!(!a.matches(&[t(ck::CKA_CLASS, &other[..])]));
        assert!(!a.matches(&[t(ck::CKA_ID, &[0x01, 0x00])]));
        assert!(!a.matches(&[t(ck::CKA_ID, &[])]));
        // Absent and sensitive attributes never match.
        assert!(!a.matches(&[t(ck::CKA_SUBJECT, &[])]));
        assert!(!a.matches(&[t(ck::CKA_VALUE, &[])]));
        // A CK_BBOOL must be one byte.
        assert!(a.matches(&[t(ck::CKA_TOKEN, &[1])]));
        assert!(!a.matches(&[t(ck::CKA_TOKEN, &[1, 0])]));
    }

    #[test]
    fn size_query_protocol() {
        let a = cert_like();
        assert_eq!(a.read_into(ck::CKA_ID, None), AttributeRead::Length(1));
        let mut big = [0u8; 4];
        assert_eq!(
            a.read_into(ck::CKA_ID, Some(&mut big)),
            AttributeRead::Length(1)
        );
        assert_eq!(big, [0x01, 0, 0, 0]);
        let mut small = [0u8; 3];
        assert_eq!(
            a.read_into(ck::CKA_LABEL, Some(&mut small)),
            AttributeRead::Failed(Rv::BUFFER_TOO_SMALL)
        );
        assert_eq!(small, [0; 3], "nothing is written into a short buffer");
        assert_eq!(
            a.read_into(ck::CKA_VALUE, None),
            AttributeRead::Failed(Rv::ATTRIBUTE_SENSITIVE)
        );
        assert_eq!(
            a.read_into(ck::CKA_MODULUS, None),
            AttributeRead::Failed(Rv::ATTRIBUTE_TYPE_INVALID)
        );
        assert_eq!(
            combine([
                AttributeRead::Length(1),
                AttributeRead::Failed(Rv::ATTRIBUTE_SENSITIVE),
                AttributeRead::Failed(Rv::BUFFER_TOO_SMALL),
            ]),
            Err(Rv::ATTRIBUTE_SENSITIVE)
        );
        assert_eq!(combine([AttributeRead::Length(0)]), Ok(()));
    }

    #[test]
    fn set_replaces_and_scalars_round_trip() {
        let mut a = cert_like();
        a.set(ck::CKA_ID, vec![0x02]);
        assert_eq!(a.value(ck::CKA_ID), Some(&[0x02][..]));
        assert_eq!(a.iter().filter(|x| x.kind == ck::CKA_ID).count(), 1);
        assert_eq!(a.ulong(ck::CKA_CLASS), Some(ck::CKO_CERTIFICATE));
        assert_eq!(a.bool(ck::CKA_TOKEN), Some(true));
        assert_eq!(ulong_from(&[1, 2, 3]), None);
        assert_eq!(bool_from(&[]), None);
        let item = TemplateItem {
            kind: ck::CKA_CLASS,
            value: &[1, 2],
        };
        assert_eq!(item.ulong(), Err(Rv::ATTRIBUTE_VALUE_INVALID));
    }
}
