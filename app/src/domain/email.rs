//! Email addresses: trimmed, lower-cased, structurally checked.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("Saisissez votre adresse électronique.".into());
        }
        let invalid =
            || "Adresse électronique invalide (exemple : prenom.nom@domaine.fr).".to_string();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(invalid());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(invalid());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_spaces() {
        assert_eq!(
            Email::parse("  Jean.Dupont@Example.FR ").unwrap().as_str(),
            "jean.dupont@example.fr"
        );
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "jean",
            "jean@",
            "@example.fr",
            "jean@example",
            "jean dupont@example.fr",
            "jean@-ex.fr",
            "a@b..fr",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn accepts_plus_and_subdomains() {
        assert!(Email::parse("agent+test@mairie.ville.fr").is_ok());
    }
}
