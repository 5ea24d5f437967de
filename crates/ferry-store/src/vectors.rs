//! The binary encoding of a document's vectors, one column per document.
//!
//! Layout, repeated per vector: name length (u8), name (UTF-8), dimension (u32 LE), then the
//! values as f32 LE. Hand-written because it is twelve lines, and a general format (JSON,
//! bincode) would either quadruple the bytes or add a dependency for no gain; f32 LE is what
//! every search kernel wants to read back.

use crate::{StoreError, StoreResult};

/// Named vectors of one document, e.g. `[("text_embedding", [0.1, …])]`.
pub type NamedVectors = Vec<(String, Vec<f32>)>;

pub fn encode(vectors: &NamedVectors) -> Vec<u8> {
    let size: usize = vectors
        .iter()
        .map(|(name, v)| 1 + name.len() + 4 + 4 * v.len())
        .sum();
    let mut out = Vec::with_capacity(size);
    for (name, values) in vectors {
        let name = &name.as_bytes()[..name.len().min(255)];
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.extend_from_slice(&(values.len() as u32).to_le_bytes());
        for value in values {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out
}

pub fn decode(mut bytes: &[u8]) -> StoreResult<NamedVectors> {
    let corrupt = || StoreError::Corrupt("vectors column is truncated".into());
    let mut vectors = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let (name, rest) = rest.split_at_checked(len as usize).ok_or_else(corrupt)?;
        let (dim, rest) = rest.split_at_checked(4).ok_or_else(corrupt)?;
        let dim = u32::from_le_bytes(dim.try_into().map_err(|_| corrupt())?) as usize;
        let (values, rest) = rest.split_at_checked(dim * 4).ok_or_else(corrupt)?;
        let values = values
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        vectors.push((String::from_utf8_lossy(name).into_owned(), values));
        bytes = rest;
    }
    Ok(vectors)
}

#[cfg(test)]
mod tests {
    #[test]
    fn vectors_round_trip_bit_for_bit() {
        let vectors = vec![
            (
                "text_embedding".to_owned(),
                vec![0.5, -1.25, f32::MIN_POSITIVE],
            ),
            ("image_embedding".to_owned(), vec![]),
        ];
        let bytes = super::encode(&vectors);
        assert_eq!(super::decode(&bytes).unwrap(), vectors);
        assert!(super::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
