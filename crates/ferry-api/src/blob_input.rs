//! Turning a blob's `data` (inline text, JSON, a data URI, or a base64 object) into bytes for
//! the blob store, with the MIME type and, for text, the text itself.

use base64::Engine;
use bytes::Bytes;
use ferry_wire::bucket::BucketSchemaFieldType;
use serde_json::Value;

/// A blob's content, decoded.
pub struct DecodedBlob {
    pub bytes: Bytes,
    pub mime_type: String,
    pub filename: Option<String>,
    /// Set for text blobs: what text extractors read.
    pub text: Option<String>,
}

fn is_url(s: &str) -> bool {
    ["http://", "https://", "s3://", "file://", "gs://"]
        .iter()
        .any(|p| s.starts_with(p))
}

fn base64_bytes(encoded: &str) -> Result<Vec<u8>, String> {
    let cleaned: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&cleaned)
        .map_err(|e| format!("invalid base64: {e}"))
}

/// MIME type from the first bytes of common formats, for base64 content sent without one.
fn sniff_mime(bytes: &[u8]) -> &'static str {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [b'%', b'P', b'D', b'F', ..] => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn text_blob(text: String) -> DecodedBlob {
    DecodedBlob {
        bytes: Bytes::from(text.clone().into_bytes()),
        mime_type: "text/plain".into(),
        filename: None,
        text: Some(text),
    }
}

fn binary_blob(
    bytes: Vec<u8>,
    mime_type: Option<String>,
    filename: Option<String>,
    blob_type: BucketSchemaFieldType,
) -> Result<DecodedBlob, String> {
    let mime_type = mime_type.unwrap_or_else(|| sniff_mime(&bytes).to_owned());
    let text = if matches!(
        blob_type,
        BucketSchemaFieldType::Text | BucketSchemaFieldType::String
    ) {
        let text =
            String::from_utf8(bytes.clone()).map_err(|_| "text content is not UTF-8".to_owned())?;
        // Extracted text lands in documents, and PostgreSQL stores no NUL (the same rule
        // `extract` applies to inline JSON strings).
        if text.contains('\0') {
            return Err("text content contains the NUL character (U+0000)".into());
        }
        Some(text)
    } else {
        None
    };
    Ok(DecodedBlob {
        bytes: Bytes::from(bytes),
        mime_type,
        filename,
        text,
    })
}

/// Decodes `data` for a blob of `blob_type`. The error says what is wrong with `data`.
pub fn decode(blob_type: BucketSchemaFieldType, data: &Value) -> Result<DecodedBlob, String> {
    let textual = matches!(
        blob_type,
        BucketSchemaFieldType::Text | BucketSchemaFieldType::String
    );
    let json = matches!(
        blob_type,
        BucketSchemaFieldType::Object | BucketSchemaFieldType::Array
    );
    match data {
        Value::String(s) if is_url(s) => Err(
            "URL sources are not fetched by Ferry; send the content inline (text, a data URI \
             or {\"base64\": …})"
                .into(),
        ),
        Value::String(s) if s.starts_with("data:") => {
            let (header, payload) = s
                .split_once(',')
                .ok_or("a data URI needs a ',' before its payload")?;
            let header = header.trim_start_matches("data:");
            let (mime, is_base64) = match header.strip_suffix(";base64") {
                Some(mime) => (mime, true),
                None => (header, false),
            };
            let bytes = if is_base64 {
                base64_bytes(payload)?
            } else {
                payload.as_bytes().to_vec()
            };
            let mime = (!mime.is_empty()).then(|| mime.to_owned());
            binary_blob(bytes, mime, None, blob_type)
        }
        Value::String(s) if textual => Ok(text_blob(s.clone())),
        Value::String(s) if !json => binary_blob(base64_bytes(s)?, None, None, blob_type),
        Value::Object(map) if map.contains_key("base64") => {
            let encoded = map["base64"].as_str().ok_or("'base64' must be a string")?;
            let mime = map
                .get("mime_type")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let filename = map
                .get("filename")
                .and_then(Value::as_str)
                .map(str::to_owned);
            binary_blob(base64_bytes(encoded)?, mime, filename, blob_type)
        }
        Value::Object(map) if textual && map.contains_key("text") => match &map["text"] {
            Value::String(text) => Ok(text_blob(text.clone())),
            _ => Err("'text' must be a string".into()),
        },
        Value::Object(map) if map.contains_key("url") => {
            Err("URL sources are not fetched by Ferry; send the content inline".into())
        }
        other if json => Ok(DecodedBlob {
            bytes: Bytes::from(other.to_string().into_bytes()),
            mime_type: "application/json".into(),
            filename: None,
            text: None,
        }),
        _ => Err(format!(
            "cannot read this data for a {} blob: send text, a data URI or {{\"base64\": …}}",
            serde_json::to_value(blob_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        )),
    }
}
