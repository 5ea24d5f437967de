//! `image_extractor` v1: a 64-bin RGB colour histogram and a 64-bit difference hash (dHash),
//! concatenated into a 128-dimensional unit vector. Images of similar colour and layout land
//! close together; the same image always lands on the same vector.

use image::imageops::FilterType;
use serde_json::{json, Map, Value};

use crate::params::{known_keys, ParamError};
use crate::{
    l2_normalize, About, ExtractError, ExtractedChunk, Extractor, ExtractorInput, InputKind,
    VectorOutput,
};

pub struct ImageExtractor;

const DIMENSION: usize = 128;

/// The 64-bit dHash: each bit says whether a pixel is brighter than its right neighbour in a
/// 9×8 greyscale thumbnail.
fn dhash(img: &image::DynamicImage) -> u64 {
    let small = img.resize_exact(9, 8, FilterType::Triangle).to_luma8();
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let left = small.get_pixel(x, y)[0];
            let right = small.get_pixel(x + 1, y)[0];
            hash = (hash << 1) | u64::from(left > right);
        }
    }
    hash
}

/// Embeds encoded image bytes; the fields carry the size and the hash.
pub fn embed(bytes: &[u8]) -> Result<(Vec<f32>, Map<String, Value>), ExtractError> {
    let img = image::load_from_memory(bytes)
        .map_err(|e| ExtractError::InvalidInput(format!("cannot decode image: {e}")))?;
    // Histogram over a bounded thumbnail: the same colours, a fixed cost per image.
    let thumb = img.thumbnail(128, 128).to_rgb8();
    let mut histogram = [0f32; 64];
    for pixel in thumb.pixels() {
        let [r, g, b] = pixel.0;
        let bin = ((r >> 6) as usize) * 16 + ((g >> 6) as usize) * 4 + (b >> 6) as usize;
        histogram[bin] += 1.0;
    }
    let pixels = (thumb.width() * thumb.height()).max(1) as f32;
    let hash = dhash(&img);
    let mut vector = Vec::with_capacity(DIMENSION);
    vector.extend(histogram.iter().map(|c| c / pixels));
    // Each hash bit as ±1/8, so the hash weighs about as much as the histogram.
    vector.extend(
        (0..64)
            .rev()
            .map(|i| if hash >> i & 1 == 1 { 0.125 } else { -0.125 }),
    );
    l2_normalize(&mut vector);
    let mut fields = Map::new();
    fields.insert("width".into(), Value::from(img.width()));
    fields.insert("height".into(), Value::from(img.height()));
    fields.insert("phash".into(), Value::String(format!("{hash:016x}")));
    Ok((vector, fields))
}

#[async_trait::async_trait]
impl Extractor for ImageExtractor {
    fn about(&self) -> About {
        About {
            name: "image_extractor",
            version: "v1",
            input_kind: InputKind::Image,
            description: "Image embeddings from an RGB colour histogram and a perceptual \
                (difference) hash (128 dimensions); deterministic, no model download",
        }
    }

    fn own_parameter_schema(&self) -> Value {
        json!({"type": "object", "additionalProperties": false, "properties": {}})
    }

    fn resolve_own_parameters(
        &self,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<ParamError>> {
        let mut errors = Vec::new();
        known_keys(params, &[], &mut errors);
        if errors.is_empty() {
            Ok(Map::new())
        } else {
            Err(errors)
        }
    }

    fn vector_outputs(&self, _resolved: &Map<String, Value>) -> Vec<VectorOutput> {
        vec![VectorOutput::cosine("image_embedding", DIMENSION)]
    }

    fn output_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("width".into(), json!({"type": "integer"}));
        fields.insert("height".into(), json!({"type": "integer"}));
        fields.insert("phash".into(), json!({"type": "string"}));
        fields
    }

    async fn extract(
        &self,
        inputs: &[ExtractorInput],
        _resolved: &Map<String, Value>,
    ) -> Result<Vec<Vec<ExtractedChunk>>, ExtractError> {
        inputs
            .iter()
            .map(|input| match input {
                ExtractorInput::Image(bytes) => {
                    let (vector, fields) = embed(bytes)?;
                    Ok(vec![ExtractedChunk {
                        chunk_index: 0,
                        text: None,
                        vectors: vec![("image_embedding".into(), vector)],
                        fields,
                    }])
                }
                ExtractorInput::Text(_) => Err(ExtractError::InvalidInput(
                    "image_extractor reads images, not text".into(),
                )),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, colour: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb(colour(x, y)));
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
        bytes.into_inner()
    }

    #[test]
    fn images_embed_deterministically_and_differ_by_content() {
        let red = png(32, 24, |_, _| [220, 20, 20]);
        let blue_gradient = png(32, 24, |x, _| [0, 0, (x * 8) as u8]);
        let (a, fields) = embed(&red).unwrap();
        let (b, _) = embed(&red).unwrap();
        let (c, _) = embed(&blue_gradient).unwrap();
        assert_eq!(a.len(), DIMENSION);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(fields["width"], 32);
        assert_eq!(fields["height"], 24);
        assert_eq!(fields["phash"].as_str().unwrap().len(), 16);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn undecodable_bytes_are_invalid_input() {
        assert!(matches!(
            embed(b"not an image"),
            Err(ExtractError::InvalidInput(_))
        ));
    }
}
