//! Serde types for the embeddings API: classic
//! `POST /openai/deployments/{d}/embeddings?api-version=…` (deployment from the path) and v1
//! `POST /openai/v1/embeddings` (deployment as body `model`). Request
//! `{"input": …, "dimensions"?: N, "encoding_format"?: "float"|"base64"}`; response
//! `{"data":[{"embedding":[…],"index":0,"object":"embedding"}],"model":…,"object":"list","usage":{…}}`.
//! Pure: no I/O.

use serde::{Deserialize, Serialize};

/// What to embed: one text, several, or pre-tokenised input (token ids), as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingsInput {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<u32>),
    TokenLists(Vec<Vec<u32>>),
}

impl EmbeddingsInput {
    /// How many vectors the answer carries.
    pub fn len(&self) -> usize {
        match self {
            EmbeddingsInput::Text(_) | EmbeddingsInput::Tokens(_) => 1,
            EmbeddingsInput::Texts(t) => t.len(),
            EmbeddingsInput::TokenLists(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsRequest {
    pub input: EmbeddingsInput,
    /// The deployment name (v1 path only; the classic path names it in the URL).
    pub model: Option<String>,
    /// Shorter vectors (text-embedding-3 models only).
    pub dimensions: Option<u32>,
    /// `float` (default) or `base64` (little-endian f32s; the Python SDK asks for it).
    pub encoding_format: Option<String>,
    pub user: Option<String>,
}

/// One vector: floats, or base64 of little-endian f32s when `encoding_format` is `base64`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    Floats(Vec<f32>),
    Base64(String),
}

impl EmbeddingVector {
    /// The number of dimensions (a base64 vector: its bytes / 4). `None` for base64 that
    /// does not decode to whole f32s.
    pub fn dimensions(&self) -> Option<usize> {
        match self {
            EmbeddingVector::Floats(v) => Some(v.len()),
            EmbeddingVector::Base64(s) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
                (bytes.len() % 4 == 0).then_some(bytes.len() / 4)
            }
        }
    }

    /// The vector as base64 of little-endian f32s.
    pub fn base64_of(v: &[f32]) -> String {
        use base64::Engine;
        let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    pub embedding: EmbeddingVector,
    pub index: u32,
    pub object: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingsUsage {
    pub prompt_tokens: u64,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsResponse {
    pub data: Vec<Embedding>,
    pub model: String,
    pub object: String,
    pub usage: EmbeddingsUsage,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_reads_every_shape() {
        let read = |s: &str| serde_json::from_str::<EmbeddingsRequest>(s).unwrap().input;
        assert_eq!(read(r#"{"input":"a"}"#), EmbeddingsInput::Text("a".into()));
        assert_eq!(read(r#"{"input":["a","b"]}"#).len(), 2);
        assert_eq!(
            read(r#"{"input":[1,2,3]}"#),
            EmbeddingsInput::Tokens(vec![1, 2, 3])
        );
        assert_eq!(read(r#"{"input":[[1],[2,3]]}"#).len(), 2);
    }

    #[test]
    fn request_omits_what_is_unset() {
        let r = EmbeddingsRequest {
            input: EmbeddingsInput::Texts(vec!["hi".into()]),
            model: None,
            dimensions: Some(256),
            encoding_format: None,
            user: None,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"input":["hi"],"dimensions":256}"#
        );
    }

    #[test]
    fn base64_vectors_count_their_dimensions() {
        let v = EmbeddingVector::Base64(EmbeddingVector::base64_of(&[0.5, -0.25, 1.0]));
        assert_eq!(v.dimensions(), Some(3));
        assert_eq!(EmbeddingVector::Base64("AAA".into()).dimensions(), None);
        let body = r#"{"data":[{"embedding":[0.1,0.2],"index":0,"object":"embedding"}],"model":"text-embedding-3-small","object":"list","usage":{"prompt_tokens":2,"total_tokens":2}}"#;
        let r: EmbeddingsResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.data[0].embedding.dimensions(), Some(2));
        assert_eq!(serde_json::to_string(&r).unwrap(), body);
    }
}
