//! The fiche of an agent ("utilisateur partenaire", CAF fiches 1–3): who
//! they are, how to reach them, where they work from and when their
//! account is open. Shared by the forms and the CSV import.
use super::{Civilite, Email, PersonName, Telephone};
use crate::error::Errors;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// "Sédentaire (possède un poste fixe)" or "Itinérant (poste de travail
/// variable)".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Poste {
    Sedentaire,
    Itinerant,
}

impl Poste {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_lowercase().as_str() {
            "" | "sedentaire" | "sédentaire" => Ok(Poste::Sedentaire),
            "itinerant" | "itinérant" => Ok(Poste::Itinerant),
            _ => Err("Indiquez « sédentaire » ou « itinérant ».".into()),
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Poste::Sedentaire => "sedentaire",
            Poste::Itinerant => "itinerant",
        }
    }
}

/// The years a date typed by someone may fall in: anything else is a typo
/// (and some of it cannot be stored by PostgreSQL).
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// A date typed in a form (`2026-11-25`) or a French spreadsheet
/// (`25/11/2026`), between the years 1900 and 2999.
pub fn parse_date(raw: &str) -> Result<Option<NaiveDate>, String> {
    use chrono::Datelike;
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .map_err(|_| "Saisissez une date au format JJ/MM/AAAA.".to_string())?;
    if !YEARS.contains(&d.year()) {
        return Err(format!(
            "Saisissez une date comprise entre {} et {}.",
            YEARS.start(),
            YEARS.end()
        ));
    }
    Ok(Some(d))
}

/// An email and a phone number, each typed twice. Errors go to `errs`
/// under the fields' names; the phone number is optional.
pub fn parse_contact(
    errs: &mut Errors,
    email: &str,
    email_confirmation: &str,
    telephone: &str,
    telephone_confirmation: &str,
) -> (Option<Email>, Option<Telephone>) {
    let email = errs.check("email", Email::parse(email));
    if let Some(e) = &email {
        if Email::parse(email_confirmation).ok().as_ref() != Some(e) {
            errs.add(
                "email_confirmation",
                "Les deux adresses électroniques ne correspondent pas.",
            );
        }
    }
    let telephone = if telephone.trim().is_empty() {
        if !telephone_confirmation.trim().is_empty() {
            errs.add(
                "telephone",
                "Saisissez le numéro de téléphone, ou videz sa confirmation.",
            );
        }
        None
    } else {
        let t = errs.check("telephone", Telephone::parse(telephone));
        if let Some(t) = &t {
            if Telephone::parse(telephone_confirmation).ok().as_ref() != Some(t) {
                errs.add(
                    "telephone_confirmation",
                    "Les deux numéros de téléphone ne correspondent pas.",
                );
            }
        }
        t
    };
    (email, telephone)
}

/// The fiche as typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentFields {
    pub civilite: String,
    pub nom: String,
    pub prenom: String,
    pub email: String,
    pub email_confirmation: String,
    pub telephone: String,
    pub telephone_confirmation: String,
    pub poste: String,
    pub date_ouverture: String,
    pub date_cloture: String,
}

/// The fiche once checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub civilite: Civilite,
    pub nom: PersonName,
    pub prenom: PersonName,
    pub email: Email,
    pub telephone: Option<Telephone>,
    pub poste: Poste,
    pub date_ouverture: NaiveDate,
    pub date_cloture: Option<NaiveDate>,
}

impl AgentFields {
    /// Checks every field. `today` is the default opening date and the
    /// earliest closing date; `saved_cloture` (the closing date already on
    /// record) may be kept even if it has passed.
    pub fn parse(
        &self,
        errs: &mut Errors,
        today: NaiveDate,
        saved_cloture: Option<NaiveDate>,
    ) -> Option<Agent> {
        let civilite = if self.civilite.trim().is_empty() {
            Some(Civilite::M)
        } else {
            errs.check("civilite", Civilite::parse(self.civilite.trim()))
        };
        let nom = errs.check("nom", PersonName::parse(&self.nom, "nom"));
        let prenom = errs.check("prenom", PersonName::parse(&self.prenom, "prénom"));
        let (email, telephone) = parse_contact(
            errs,
            &self.email,
            &self.email_confirmation,
            &self.telephone,
            &self.telephone_confirmation,
        );
        let poste = errs.check("poste", Poste::parse(&self.poste));
        let ouverture = errs
            .check("date_ouverture", parse_date(&self.date_ouverture))
            .map(|d| d.unwrap_or(today));
        let cloture = errs.check("date_cloture", parse_date(&self.date_cloture));
        if let (Some(Some(c)), Some(o)) = (cloture, ouverture) {
            if c < o {
                errs.add(
                    "date_cloture",
                    "La date de clôture ne peut précéder la date d'ouverture.",
                );
            } else if c < today && Some(c) != saved_cloture {
                errs.add(
                    "date_cloture",
                    "La date de clôture ne peut pas être dans le passé.",
                );
            }
        }
        Some(Agent {
            civilite: civilite?,
            nom: nom?,
            prenom: prenom?,
            email: email?,
            telephone,
            poste: poste?,
            date_ouverture: ouverture?,
            date_cloture: cloture?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn fields() -> AgentFields {
        AgentFields {
            nom: "Durand".into(),
            prenom: "Mathieu".into(),
            email: "Mathieu.Durand@example.fr".into(),
            email_confirmation: "mathieu.durand@example.fr".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_minimal_fiche_opens_today() {
        let mut errs = Errors::default();
        let a = fields().parse(&mut errs, today(), None).unwrap();
        assert!(errs.finish().is_ok());
        assert_eq!(a.date_ouverture, today());
        assert_eq!(a.poste, Poste::Sedentaire);
        assert_eq!(a.email.as_str(), "mathieu.durand@example.fr");
    }

    #[test]
    fn closing_in_the_past_is_refused_unless_already_saved() {
        let mut f = fields();
        f.date_ouverture = "01/01/2020".into();
        f.date_cloture = "2026-11-24".into();
        let mut errs = Errors::default();
        f.parse(&mut errs, today(), None);
        let e = errs.finish().unwrap_err();
        assert!(e.field("date_cloture").unwrap().contains("passé"));
        let mut errs = Errors::default();
        f.parse(&mut errs, today(), NaiveDate::from_ymd_opt(2026, 11, 24));
        assert!(errs.finish().is_ok());
    }

    #[test]
    fn confirmations_must_match() {
        let mut f = fields();
        f.email_confirmation = "autre@example.fr".into();
        f.telephone = "01 23 45 67 89".into();
        f.telephone_confirmation = "0123456788".into();
        let mut errs = Errors::default();
        f.parse(&mut errs, today(), None);
        let e = errs.finish().unwrap_err();
        assert!(e.field("email_confirmation").is_some());
        assert!(e.field("telephone_confirmation").is_some());
    }

    #[test]
    fn dates_and_postes_are_read_in_french() {
        assert_eq!(
            parse_date("25/11/2026").unwrap(),
            Some(NaiveDate::from_ymd_opt(2026, 11, 25).unwrap())
        );
        assert!(parse_date("2026-13-01").is_err());
        for far in [
            "-5000-01-01",
            "3500-01-01",
            "01/01/1850",
            "1899-12-31",
            "3000-01-01",
        ] {
            assert!(
                parse_date(far).unwrap_err().contains("entre 1900 et 2999"),
                "{far}"
            );
        }
        for unreadable in ["99999-01-01", "+99999-01-01"] {
            assert!(parse_date(unreadable).is_err(), "{unreadable}");
        }
        assert!(parse_date("1900-01-01").unwrap().is_some());
        assert!(parse_date("31/12/2999").unwrap().is_some());
        assert_eq!(Poste::parse("Itinérant").unwrap(), Poste::Itinerant);
        assert!(Poste::parse("nomade").is_err());
    }
}
