//! Document ids to the `u64` keys an HNSW graph stores, and back.
//!
//! A key is a hash of the id, so deleting a document needs no id→key table, only key→id
//! (for turning graph results back into documents). Two ids whose hashes collide are told
//! apart by probing: an id's candidate keys are the hashes of the id under salts 0, 1, 2, …,
//! and it takes the first one that is free or already its own.

use std::collections::HashMap;
use std::io::{self, Read, Write};

/// How many salts an id may try. Colliding 64-bit hashes are rare (about one pair among
/// 4 billion ids), so eight consecutive collisions do not happen in practice.
const PROBES: u64 = 8;

/// FNV-1a over `salt` then `id`. Hand-written because keys are persisted with the index and
/// must hash the same in every build and process; std's hasher promises neither.
fn fnv1a(salt: u64, id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in salt.to_le_bytes().iter().chain(id.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // usearch reserves the all-ones key as "no key".
    if hash == u64::MAX {
        hash - 1
    } else {
        hash
    }
}

/// The key→id table of one graph.
#[derive(Debug, Default)]
pub struct KeyMap {
    ids: HashMap<u64, Box<str>>,
}

impl KeyMap {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.ids.values().map(|id| &**id)
    }

    pub fn id(&self, key: u64) -> Option<&str> {
        self.ids.get(&key).map(|id| &**id)
    }

    /// The key `id` holds, if it holds one. Every probe is checked (a removed id may have
    /// left a hole before this one's key).
    pub fn key(&self, id: &str) -> Option<u64> {
        (0..PROBES)
            .map(|salt| fnv1a(salt, id))
            .find(|key| self.ids.get(key).is_some_and(|held| &**held == id))
    }

    /// `id`'s key, taking one if it has none; `None` only after [`PROBES`] collisions.
    pub fn assign(&mut self, id: &str) -> Option<u64> {
        if let Some(key) = self.key(id) {
            return Some(key);
        }
        let key = (0..PROBES)
            .map(|salt| fnv1a(salt, id))
            .find(|key| !self.ids.contains_key(key))?;
        self.ids.insert(key, id.into());
        Some(key)
    }

    /// Forgets `id`, returning the key it held.
    pub fn release(&mut self, id: &str) -> Option<u64> {
        let key = self.key(id)?;
        self.ids.remove(&key);
        Some(key)
    }

    /// Writes the table: per entry, the key (u64 LE), the id's length (u32 LE) and its bytes.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        for (key, id) in &self.ids {
            out.write_all(&key.to_le_bytes())?;
            out.write_all(&(id.len() as u32).to_le_bytes())?;
            out.write_all(id.as_bytes())?;
        }
        Ok(())
    }

    pub fn read_from(input: &mut impl Read) -> io::Result<KeyMap> {
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes)?;
        let corrupt = || io::Error::new(io::ErrorKind::InvalidData, "key table is truncated");
        let mut ids = HashMap::new();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let (key, tail) = rest.split_at_checked(8).ok_or_else(corrupt)?;
            let (len, tail) = tail.split_at_checked(4).ok_or_else(corrupt)?;
            let len = u32::from_le_bytes(len.try_into().map_err(|_| corrupt())?) as usize;
            let (id, tail) = tail.split_at_checked(len).ok_or_else(corrupt)?;
            let id = std::str::from_utf8(id).map_err(|_| corrupt())?;
            ids.insert(
                u64::from_le_bytes(key.try_into().map_err(|_| corrupt())?),
                id.into(),
            );
            rest = tail;
        }
        Ok(KeyMap { ids })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_ids_get_distinct_keys_and_survive_removal_of_the_first() {
        let mut keys = KeyMap::default();
        let a = keys.assign("doc_a").unwrap();
        // Force a collision: occupy b's first-choice key with another id.
        let b_first = fnv1a(0, "doc_b");
        keys.ids.insert(b_first, "squatter".into());
        let b = keys.assign("doc_b").unwrap();
        assert_ne!(b, b_first);
        assert_eq!(keys.assign("doc_b"), Some(b), "assign is idempotent");
        keys.ids.remove(&b_first);
        assert_eq!(keys.key("doc_b"), Some(b), "found past the hole");
        assert_eq!(keys.assign("doc_b"), Some(b), "not given a second key");
        assert_eq!(keys.id(a), Some("doc_a"));
    }

    #[test]
    fn the_table_round_trips_and_refuses_truncation() {
        let mut keys = KeyMap::default();
        for i in 0..100 {
            keys.assign(&format!("doc_{i}"));
        }
        let mut bytes = Vec::new();
        keys.write_to(&mut bytes).unwrap();
        let back = KeyMap::read_from(&mut bytes.as_slice()).unwrap();
        assert_eq!(back.len(), 100);
        assert_eq!(back.key("doc_42"), keys.key("doc_42"));
        assert!(KeyMap::read_from(&mut &bytes[..bytes.len() - 1]).is_err());
    }
}
