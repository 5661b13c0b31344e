//! Readable user identifiers like `AAA2930CAU`: letters at fixed places
//! without I, L, O; digits at fixed places, so nothing can be misread.
use serde::{Deserialize, Serialize};

pub const LETTERS: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ";
pub const DIGITS: &[u8] = b"0123456789";

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserIdentifier(String);

impl UserIdentifier {
    /// Three letters, four digits, three letters, drawn from unambiguous sets.
    pub fn generate(mut next: impl FnMut(usize) -> usize) -> Self {
        let mut s = String::with_capacity(10);
        for i in 0..10 {
            let set = if (3..7).contains(&i) { DIGITS } else { LETTERS };
            s.push(set[next(set.len())] as char);
        }
        UserIdentifier(s)
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_uppercase();
        let ok = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| {
                if (3..7).contains(&i) {
                    DIGITS.contains(&b)
                } else {
                    LETTERS.contains(&b)
                }
            });
        if ok {
            Ok(UserIdentifier(s))
        } else {
            Err("Identifiant invalide.".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identifiers_parse_and_avoid_ambiguous_characters() {
        let mut seed = 7usize;
        for _ in 0..1000 {
            let id = UserIdentifier::generate(|n| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 33) % n
            });
            assert_eq!(id.as_str().len(), 10);
            assert!(
                !id.as_str().chars().any(|c| "OIL".contains(c)),
                "{}",
                id.as_str()
            );
            assert!(id.as_str()[3..7].bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(UserIdentifier::parse(id.as_str()).unwrap(), id);
        }
    }

    #[test]
    fn parse_refuses_ambiguous_or_misshapen() {
        assert!(UserIdentifier::parse("AAA2930CAU").is_ok());
        assert!(UserIdentifier::parse("aaa2930cau").is_ok());
        assert!(UserIdentifier::parse("AAO2930CAU").is_err());
        assert!(UserIdentifier::parse("AAA29I0CAU").is_err());
        assert!(UserIdentifier::parse("AAL2930CAU").is_err());
        assert!(UserIdentifier::parse("AAA293").is_err());
    }
}
