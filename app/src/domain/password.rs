//! Password rules (NIST 800-63B style): a minimum length, no composition
//! rules, and a refusal of well-known passwords.
use serde::{Deserialize, Serialize};

pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 256;

/// A password that passed the rules. Never serialised back to a client.
#[derive(Clone, Deserialize)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD_CHARS {
            return Err(format!(
                "Le mot de passe doit comporter au moins {MIN_PASSWORD_CHARS} caractères (une phrase de passe convient très bien)."
            ));
        }
        if n > MAX_PASSWORD_CHARS {
            return Err(format!(
                "Le mot de passe ne peut dépasser {MAX_PASSWORD_CHARS} caractères."
            ));
        }
        if is_common(raw) {
            return Err("Ce mot de passe est trop courant : choisissez-en un autre.".into());
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// A single repeated character, or a well-known password (list of 20 000
/// leaked passwords of 12 characters or more, checked case-insensitively).
/// The list only exists on the server: the browser does not download it.
fn is_common(raw: &str) -> bool {
    let lower = raw.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return true;
    }
    #[cfg(feature = "ssr")]
    {
        use std::collections::HashSet;
        use std::sync::OnceLock;
        static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
        let list = LIST.get_or_init(|| {
            include_str!("../../../data/common-passwords-12plus.txt")
                .lines()
                .collect()
        });
        if list.contains(lower.as_str()) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_short_passwords() {
        assert!(Password::parse("court")
            .unwrap_err()
            .contains("12 caractères"));
        assert!(Password::parse("onze-caract").is_err());
    }

    #[test]
    fn accepts_long_passphrase_without_composition_rules() {
        assert!(Password::parse("cheval correct pile agrafe").is_ok());
        assert!(Password::parse("ééééàààçççùùx").is_ok());
    }

    #[test]
    fn refuses_repeated_character() {
        assert!(Password::parse("aaaaaaaaaaaaaaaa")
            .unwrap_err()
            .contains("courant"));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn refuses_common_passwords_case_insensitively() {
        assert!(Password::parse("MotDePasse123")
            .unwrap_err()
            .contains("courant"));
        assert!(Password::parse("123456789012")
            .unwrap_err()
            .contains("courant"));
        assert!(Password::parse("qwertyuiop123")
            .unwrap_err()
            .contains("courant"));
    }

    #[test]
    fn debug_and_serialize_hide_the_secret() {
        let p = Password::parse("cheval correct pile agrafe").unwrap();
        assert!(!format!("{p:?}").contains("cheval"));
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"***\"");
    }
}
