//! Names, civilité and phone numbers of people.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Civilite {
    M,
    Mme,
}

impl Civilite {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "M" => Ok(Civilite::M),
            "Mme" => Ok(Civilite::Mme),
            _ => Err("Choisissez une civilité.".into()),
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Civilite::M => "M",
            Civilite::Mme => "Mme",
        }
    }
    pub fn label(code: &str) -> &'static str {
        if code == "Mme" {
            "Madame"
        } else {
            "Monsieur"
        }
    }
}

/// A nom or prénom: trimmed, 1 to 100 characters, letters and separators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str, what: &str) -> Result<Self, String> {
        let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() {
            return Err(format!("Saisissez votre {what}."));
        }
        if s.chars().count() > 100 {
            return Err(format!("Le {what} ne peut dépasser 100 caractères."));
        }
        if !s
            .chars()
            .all(|c| c.is_alphabetic() || " -'’._".contains(c) || c.is_ascii_digit())
        {
            return Err(format!("Le {what} contient des caractères non autorisés."));
        }
        Ok(PersonName(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number kept as digits with an optional leading '+'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Telephone(String);

impl Telephone {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw.chars().filter(|c| !" .-()".contains(*c)).collect();
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        if digits.len() < 10 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("Numéro de téléphone invalide (exemple : 01 23 45 67 89).".into());
        }
        Ok(Telephone(compact))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            PersonName::parse("  Jean   Pierre ", "prénom")
                .unwrap()
                .as_str(),
            "Jean Pierre"
        );
        assert!(PersonName::parse("   ", "nom")
            .unwrap_err()
            .contains("Saisissez votre nom"));
        assert!(PersonName::parse("<script>", "nom").is_err());
        assert!(PersonName::parse("N'Diaye-Lefèvre", "nom").is_ok());
    }

    #[test]
    fn phones_accept_french_and_international_forms() {
        assert_eq!(
            Telephone::parse("01 23 45 67 89").unwrap().as_str(),
            "0123456789"
        );
        assert!(Telephone::parse("+33 1 23 45 67 89").is_ok());
        assert!(Telephone::parse("12345").is_err());
        assert!(Telephone::parse("01 23 45 67 8A").is_err());
    }

    #[test]
    fn civilite_has_two_values() {
        assert_eq!(Civilite::parse("Mme").unwrap(), Civilite::Mme);
        assert!(Civilite::parse("Dr").is_err());
    }
}
