//! The answers of server functions, in JSON read from text.
//!
//! Leptos reads the data a page carries for hydration with
//! `serde_json::from_str`, and server functions' answers (`Json`, the
//! default) with `serde_json::from_slice`: two copies of every
//! deserialiser in the browser's WebAssembly, one per reader. Answers read
//! as text share the first: the browser build loses about a sixth of its
//! JSON code. Same wire format, same content type.
use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON, decoded from UTF-8 text.
pub struct JsonText;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}

/// The answer of every server function: `#[server(output = Json)]`.
pub type Json = Post<JsonText>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_invalid_text() {
        let bytes =
            <JsonText as Encodes<Vec<String>>>::encode(&vec!["Élodie".to_string()]).unwrap();
        let back: Vec<String> = <JsonText as Decodes<Vec<String>>>::decode(bytes).unwrap();
        assert_eq!(back, vec!["Élodie".to_string()]);
        assert!(
            <JsonText as Decodes<Vec<String>>>::decode(Bytes::from_static(b"[\"\xff\"]")).is_err()
        );
    }
}
