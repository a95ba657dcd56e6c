//! The card's file system: MF, DFs (applications) and elementary files (ISO/IEC 7816-4 §7).
//!
//! Files live in an arena ([`FileSystem`]) addressed by [`NodeId`]; node 0 is the MF. A DF may
//! carry an application identifier (DF name, §8.2.1.2) so it can be selected by AID. An EF is
//! transparent (READ/UPDATE BINARY) or holds records (READ RECORD); each file has an access
//! rule per operation ([`Access`]), evaluated by the card OS against its security state.

use cardwire_tlv::{Builder, Tag};

/// A file identifier (ISO/IEC 7816-4 §7.1.1), e.g. `Fid::MF` = `3F00`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Fid(pub u16);

impl Fid {
    /// The master file (§7.1.1).
    pub const MF: Fid = Fid(0x3F00);
    /// EF.DIR, the application directory (ISO/IEC 7816-4 §8.2.1.1).
    pub const EF_DIR: Fid = Fid(0x2F00);
    /// EF.ATR/INFO, the card's capabilities (§8.2.1.1).
    pub const EF_ATR: Fid = Fid(0x2F01);
}

/// The security condition an operation on a file needs (compare ISO/IEC 7816-4 §9.3.3,
/// compact format: "always", "never", user authentication, secure messaging).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Condition {
    /// No condition.
    Always,
    /// The operation is never allowed.
    Never,
    /// The cardholder's PIN has been verified in this session.
    Pin,
    /// The command arrives under secure messaging (BAC for the eMRTD applet).
    SecureMessaging,
    /// The command arrives under an authenticated SCP03 administration channel.
    Admin,
}

impl Condition {
    /// The security condition byte of the compact format (ISO/IEC 7816-4 §9.3.3.1, table
    /// 55): `00` always, `FF` never, `10` user authentication, `40` secure messaging,
    /// `60` secure messaging and external authentication.
    pub fn sc_byte(self) -> u8 {
        match self {
            Condition::Always => 0x00,
            Condition::Never => 0xFF,
            Condition::Pin => 0x10,
            Condition::SecureMessaging => 0x40,
            Condition::Admin => 0x60,
        }
    }
}

/// What each operation on a file requires.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Access {
    /// READ BINARY / READ RECORD (and, for a DF, nothing: selection is always allowed).
    pub read: Condition,
    /// UPDATE BINARY / UPDATE RECORD.
    pub update: Condition,
}

impl Access {
    /// Readable by anyone, writable only by an administrator.
    pub const PUBLIC: Access = Access {
        read: Condition::Always,
        update: Condition::Admin,
    };
    /// Readable after the PIN, writable only by an administrator.
    pub const PIN: Access = Access {
        read: Condition::Pin,
        update: Condition::Admin,
    };
    /// Readable and writable after the PIN.
    pub const PIN_RW: Access = Access {
        read: Condition::Pin,
        update: Condition::Pin,
    };
    /// Readable and writable only under secure messaging.
    pub const SM_RW: Access = Access {
        read: Condition::SecureMessaging,
        update: Condition::SecureMessaging,
    };
    /// Readable only under secure messaging, never writable (eMRTD data groups).
    pub const SM_READ_ONLY: Access = Access {
        read: Condition::SecureMessaging,
        update: Condition::Never,
    };
}

/// An index into the [`FileSystem`] arena.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct NodeId(pub usize);

impl NodeId {
    /// The MF is always node 0.
    pub const MF: NodeId = NodeId(0);
}

/// What a file holds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Body {
    /// A dedicated file: an application when it has a DF name (AID).
    Df {
        /// The DF name (application identifier), if any.
        aid: Option<Vec<u8>>,
        /// The files directly under this DF.
        children: Vec<NodeId>,
    },
    /// A transparent EF (§7.2.1): a string of bytes.
    Transparent(Vec<u8>),
    /// A linear variable record EF (§7.3.1): numbered records from 1.
    Records(Vec<Vec<u8>>),
}

/// One file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Node {
    /// Its file identifier.
    pub fid: Fid,
    /// Its short EF identifier (1..=30), if it has one (§7.2.2).
    pub sfi: Option<u8>,
    /// Its parent DF (`None` for the MF).
    pub parent: Option<NodeId>,
    /// Its access rules.
    pub access: Access,
    /// Its content.
    pub body: Body,
}

impl Node {
    /// Whether this node is a DF (or the MF).
    pub fn is_df(&self) -> bool {
        matches!(self.body, Body::Df { .. })
    }
}

/// The file tree.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FileSystem {
    nodes: Vec<Node>,
}

impl Default for FileSystem {
    fn default() -> Self {
        Self::new()
    }
}

impl FileSystem {
    /// A file system with only the MF.
    pub fn new() -> FileSystem {
        FileSystem {
            nodes: vec![Node {
                fid: Fid::MF,
                sfi: None,
                parent: None,
                access: Access::PUBLIC,
                body: Body::Df {
                    aid: None,
                    children: Vec::new(),
                },
            }],
        }
    }

    /// The node `id`, if it exists.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    /// The node `id` for changing its content.
    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.nodes.get_mut(id.0)
    }

    /// Every node id, MF first, in creation order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len()).map(NodeId)
    }

    fn add(&mut self, parent: NodeId, node: Node) -> Option<NodeId> {
        let id = NodeId(self.nodes.len());
        match self.nodes.get_mut(parent.0).map(|p| &mut p.body) {
            Some(Body::Df { children, .. }) => children.push(id),
            _ => return None,
        }
        self.nodes.push(node);
        Some(id)
    }

    /// Adds a DF under `parent`; `None` if `parent` is not a DF.
    pub fn add_df(&mut self, parent: NodeId, fid: Fid, aid: Option<&[u8]>) -> Option<NodeId> {
        self.add(
            parent,
            Node {
                fid,
                sfi: None,
                parent: Some(parent),
                access: Access::PUBLIC,
                body: Body::Df {
                    aid: aid.map(<[u8]>::to_vec),
                    children: Vec::new(),
                },
            },
        )
    }

    /// Adds a transparent EF under `parent`; `None` if `parent` is not a DF.
    pub fn add_transparent(
        &mut self,
        parent: NodeId,
        fid: Fid,
        sfi: Option<u8>,
        access: Access,
        data: Vec<u8>,
    ) -> Option<NodeId> {
        self.add(
            parent,
            Node {
                fid,
                sfi,
                parent: Some(parent),
                access,
                body: Body::Transparent(data),
            },
        )
    }

    /// Adds a record EF under `parent`; `None` if `parent` is not a DF.
    pub fn add_records(
        &mut self,
        parent: NodeId,
        fid: Fid,
        sfi: Option<u8>,
        access: Access,
        records: Vec<Vec<u8>>,
    ) -> Option<NodeId> {
        self.add(
            parent,
            Node {
                fid,
                sfi,
                parent: Some(parent),
                access,
                body: Body::Records(records),
            },
        )
    }

    fn children(&self, df: NodeId) -> &[NodeId] {
        match self.node(df).map(|n| &n.body) {
            Some(Body::Df { children, .. }) => children,
            _ => &[],
        }
    }

    /// The file `fid` directly under `df`.
    pub fn child_by_fid(&self, df: NodeId, fid: Fid) -> Option<NodeId> {
        self.children(df)
            .iter()
            .copied()
            .find(|c| self.node(*c).is_some_and(|n| n.fid == fid))
    }

    /// The EF with short identifier `sfi` directly under `df` (§7.2.2).
    pub fn child_by_sfi(&self, df: NodeId, sfi: u8) -> Option<NodeId> {
        self.children(df).iter().copied().find(|c| {
            self.node(*c)
                .is_some_and(|n| !n.is_df() && n.sfi == Some(sfi))
        })
    }

    /// The DF whose name is `aid` (or starts with `aid` when `partial`), anywhere in the tree
    /// (§7.1.1 selection by DF name).
    pub fn find_aid(&self, aid: &[u8], partial: bool) -> Option<NodeId> {
        self.ids().find(|id| match self.node(*id).map(|n| &n.body) {
            Some(Body::Df {
                aid: Some(name), ..
            }) => {
                if partial {
                    !aid.is_empty() && name.starts_with(aid)
                } else {
                    name == aid
                }
            }
            _ => false,
        })
    }

    /// Follows a path of file identifiers (2 bytes each) from `start` (§7.1.2). A path
    /// starting at the MF from `start = NodeId::MF` may begin with `3F00` or not.
    pub fn resolve_path(&self, start: NodeId, path: &[u8]) -> Option<NodeId> {
        if path.is_empty() || !path.len().is_multiple_of(2) {
            return None;
        }
        let mut current = start;
        for (i, pair) in path.chunks_exact(2).enumerate() {
            let fid = match pair {
                [a, b] => Fid(u16::from_be_bytes([*a, *b])),
                _ => return None,
            };
            if i == 0 && start == NodeId::MF && fid == Fid::MF {
                continue;
            }
            if !self.node(current)?.is_df() {
                return None;
            }
            current = self.child_by_fid(current, fid)?;
        }
        Some(current)
    }

    /// The FIDs from the MF down to `id` (the MF itself included), for persisting file
    /// content by a stable name.
    pub fn path_of(&self, id: NodeId) -> Vec<u16> {
        let mut path = Vec::new();
        let mut current = Some(id);
        // Bounded by the number of nodes: parents always have smaller ids.
        for _ in 0..=self.nodes.len() {
            let Some(c) = current else { break };
            let Some(node) = self.node(c) else { break };
            path.push(node.fid.0);
            current = node.parent;
        }
        path.reverse();
        path
    }

    /// The node at a path as returned by [`FileSystem::path_of`].
    pub fn by_path(&self, path: &[u16]) -> Option<NodeId> {
        let (first, rest) = path.split_first()?;
        if *first != Fid::MF.0 {
            return None;
        }
        let mut current = NodeId::MF;
        for fid in rest {
            current = self.child_by_fid(current, Fid(*fid))?;
        }
        Some(current)
    }

    /// The file control parameters template `62` of a file (ISO/IEC 7816-4 §7.4.3, table 12):
    /// file descriptor `82`, FID `83`, DF name `84`, size `80`, SFI `88`, life cycle `8A` and
    /// compact security attributes `8C` (READ and UPDATE).
    ///
    /// # Errors
    /// A [`cardwire_tlv::Error`] when the template cannot be encoded (not for any file this
    /// card holds); `id` naming no file gives an empty answer.
    pub fn fcp(&self, id: NodeId) -> Result<Vec<u8>, cardwire_tlv::Error> {
        let Some(node) = self.node(id) else {
            return Ok(Vec::new());
        };
        let fid = node.fid.0.to_be_bytes();
        let mut b = Builder::new();
        b.constructed(Tag(0x62), |b| {
            match &node.body {
                Body::Df { aid, .. } => {
                    b.primitive(Tag(0x82), &[0x38])?
                        .primitive(Tag(0x83), &fid)?;
                    if let Some(aid) = aid {
                        b.primitive(Tag(0x84), aid)?;
                    }
                }
                Body::Transparent(data) => {
                    let size = u16::try_from(data.len()).unwrap_or(u16::MAX);
                    b.primitive(Tag(0x82), &[0x01])?
                        .primitive(Tag(0x83), &fid)?
                        .primitive(Tag(0x80), &size.to_be_bytes())?;
                }
                Body::Records(records) => {
                    let max = records.iter().map(Vec::len).max().unwrap_or(0);
                    let [hi, lo] = u16::try_from(max).unwrap_or(u16::MAX).to_be_bytes();
                    let count = u8::try_from(records.len()).unwrap_or(u8::MAX);
                    // 04: linear structure, variable size; 21: data coding byte; then the
                    // maximum record size (2 bytes) and number of records.
                    b.primitive(Tag(0x82), &[0x04, 0x21, hi, lo, count])?
                        .primitive(Tag(0x83), &fid)?;
                }
            }
            if let Some(sfi) = node.sfi {
                b.primitive(Tag(0x88), &[sfi << 3])?;
            }
            b.primitive(Tag(0x8A), &[0x05])?;
            if !node.is_df() {
                // AM byte 03: b2 UPDATE, b1 READ; SC bytes in the order b2, b1.
                let sc = [
                    0x03,
                    node.access.update.sc_byte(),
                    node.access.read.sc_byte(),
                ];
                b.primitive(Tag(0x8C), &sc)?;
            }
            Ok(())
        })?;
        Ok(b.finish())
    }
}

/// Appends one BER-TLV object with cardwire-tlv's encoder (shortest length form, ISO/IEC
/// 7816-4 §5.2.2) — for the personalisation data, whose tags are constants. A tag that does
/// not encode appends nothing.
pub(crate) fn tlv(tag: u16, value: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    if cardwire_tlv::write_tlv(out, Tag(u32::from(tag)), value).is_err() {
        out.truncate(start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (FileSystem, NodeId, NodeId, NodeId) {
        let mut fs = FileSystem::new();
        let app = fs
            .add_df(NodeId::MF, Fid(0x5000), Some(&[0xF0, 0x01, 0x02, 0x03]))
            .unwrap();
        let ef = fs
            .add_transparent(app, Fid(0x5001), Some(1), Access::PUBLIC, b"hello".to_vec())
            .unwrap();
        let rec = fs
            .add_records(
                app,
                Fid(0x5002),
                Some(2),
                Access::PIN,
                vec![b"a".to_vec(), b"bc".to_vec()],
            )
            .unwrap();
        (fs, app, ef, rec)
    }

    #[test]
    fn select_by_fid_path_sfi_and_aid() {
        let (fs, app, ef, rec) = sample();
        assert_eq!(fs.child_by_fid(NodeId::MF, Fid(0x5000)), Some(app));
        assert_eq!(fs.child_by_sfi(app, 2), Some(rec));
        assert_eq!(
            fs.resolve_path(NodeId::MF, &[0x3F, 0x00, 0x50, 0x00, 0x50, 0x01]),
            Some(ef)
        );
        assert_eq!(
            fs.resolve_path(NodeId::MF, &[0x50, 0x00, 0x50, 0x01]),
            Some(ef)
        );
        assert_eq!(fs.resolve_path(app, &[0x50, 0x02]), Some(rec));
        assert_eq!(
            fs.resolve_path(app, &[0x50, 0x01, 0x50, 0x02]),
            None,
            "an EF has no children"
        );
        assert_eq!(fs.resolve_path(app, &[0x50]), None);
        assert_eq!(fs.find_aid(&[0xF0, 0x01, 0x02, 0x03], false), Some(app));
        assert_eq!(fs.find_aid(&[0xF0, 0x01], true), Some(app));
        assert_eq!(fs.find_aid(&[0xF0, 0x01], false), None);
        assert_eq!(fs.find_aid(&[], true), None);
        assert_eq!(fs.path_of(ef), vec![0x3F00, 0x5000, 0x5001]);
        assert_eq!(fs.by_path(&[0x3F00, 0x5000, 0x5001]), Some(ef));
        assert_eq!(fs.by_path(&[0x5000]), None);
    }

    #[test]
    fn fcp_of_a_transparent_ef() {
        let (fs, _, ef, _) = sample();
        assert_eq!(
            fs.fcp(ef).unwrap(),
            [
                0x62, 0x16, 0x82, 0x01, 0x01, 0x83, 0x02, 0x50, 0x01, 0x80, 0x02, 0x00, 0x05, 0x88,
                0x01, 0x08, 0x8A, 0x01, 0x05, 0x8C, 0x03, 0x03, 0x60, 0x00
            ]
        );
    }

    #[test]
    fn fcp_of_a_df_and_a_record_ef() {
        let (fs, app, _, rec) = sample();
        assert_eq!(
            fs.fcp(app).unwrap(),
            [
                0x62, 0x10, 0x82, 0x01, 0x38, 0x83, 0x02, 0x50, 0x00, 0x84, 0x04, 0xF0, 0x01, 0x02,
                0x03, 0x8A, 0x01, 0x05
            ]
        );
        let fcp = fs.fcp(rec).unwrap();
        assert_eq!(&fcp[2..9], &[0x82, 0x05, 0x04, 0x21, 0x00, 0x02, 0x02]);
        assert_eq!(&fcp[fcp.len() - 5..], &[0x8C, 0x03, 0x03, 0x60, 0x10]);
    }

    #[test]
    fn tlv_lengths() {
        // The card's objects go through cardwire-tlv's encoder: one-, two- and (for values
        // above 65 535 bytes, which the old local encoder wrote as `82 FFFF`) three-byte lengths.
        let mut out = Vec::new();
        cardwire_tlv::write_tlv(&mut out, Tag(0x53), &[0u8; 200]).unwrap();
        assert_eq!(&out[..3], &[0x53, 0x81, 200]);
        out.clear();
        cardwire_tlv::write_tlv(&mut out, Tag(0x5F20), &[0u8; 300]).unwrap();
        assert_eq!(&out[..5], &[0x5F, 0x20, 0x82, 0x01, 0x2C]);
        out.clear();
        cardwire_tlv::write_tlv(&mut out, Tag(0x53), &[0u8; 70_000]).unwrap();
        assert_eq!(&out[..5], &[0x53, 0x83, 0x01, 0x11, 0x70]);
        assert_eq!(out.len(), 5 + 70_000);
    }

    #[test]
    fn fcp_of_a_large_transparent_ef_caps_the_size() {
        let mut fs = FileSystem::new();
        let ef = fs
            .add_transparent(
                NodeId::MF,
                Fid(0x5001),
                None,
                Access::PUBLIC,
                vec![0; 70_000],
            )
            .unwrap();
        let fcp = fs.fcp(ef).unwrap();
        assert_eq!(&fcp[..2], &[0x62, 0x13]);
        assert_eq!(&fcp[9..13], &[0x80, 0x02, 0xFF, 0xFF]);
    }
}
