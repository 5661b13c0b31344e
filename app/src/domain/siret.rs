//! SIRET: 14 digits, Luhn key (La Poste's establishments use their own rule).
use serde::{Deserialize, Serialize};

/// The SIREN of La Poste, whose establishments do not follow Luhn.
const LA_POSTE_SIREN: &str = "356000000";

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Siret(String);

impl Siret {
    /// Accepts what people paste ("356 000 000 00048"), keeps the 14 digits.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '.')
            .collect();
        if digits.is_empty() {
            return Err("Saisissez le numéro SIRET.".into());
        }
        if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("Le SIRET doit comporter exactement 14 chiffres.".into());
        }
        let valid = if digits.starts_with(LA_POSTE_SIREN) {
            // La Poste: the sum of the 14 digits is a multiple of 5
            // (its head office 35600000000048 also passes Luhn).
            digit_sum(&digits).is_multiple_of(5) || luhn(&digits)
        } else {
            luhn(&digits)
        };
        if !valid {
            return Err("Ce numéro SIRET n'est pas valide (clé de contrôle incorrecte).".into());
        }
        Ok(Siret(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn siren(&self) -> &str {
        &self.0[..9]
    }
}

fn digit_sum(digits: &str) -> u32 {
    digits.bytes().map(|b| u32::from(b - b'0')).sum()
}

/// Luhn over the whole number: every second digit from the right is doubled.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_siret_with_spaces() {
        let s = Siret::parse(" 784 714 008 00165 ").unwrap();
        assert_eq!(s.as_str(), "78471400800165");
        assert_eq!(s.siren(), "784714008");
    }

    #[test]
    fn refuses_bad_key() {
        assert!(Siret::parse("78471400800166").unwrap_err().contains("clé"));
    }

    #[test]
    fn refuses_wrong_length_and_letters() {
        assert!(Siret::parse("1234").unwrap_err().contains("14 chiffres"));
        assert!(Siret::parse("7847140080016A")
            .unwrap_err()
            .contains("14 chiffres"));
        assert!(Siret::parse("").unwrap_err().contains("Saisissez"));
    }

    #[test]
    fn la_poste_establishments_use_digit_sum_rule() {
        // Head office: passes Luhn.
        assert!(Siret::parse("35600000000048").is_ok());
        // An establishment whose digit sum is a multiple of 5 but fails Luhn.
        assert!(!luhn("35600000049837"));
        assert_eq!(digit_sum("35600000049837") % 5, 0);
        assert!(Siret::parse("35600000049837").is_ok());
        // Neither rule holds.
        assert!(Siret::parse("35600000049838").is_err());
    }

    #[test]
    fn luhn_rule_is_not_applied_to_la_poste_alone() {
        // Same digit sum trick on another SIREN is refused.
        assert!(!luhn("78471400800160"));
        assert!(Siret::parse("78471400800160").is_err());
    }
}
