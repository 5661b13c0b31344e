//! Opening and closing dates ("date d'ouverture", "date de clôture") of a
//! convention, a group, a membership or a right. The closing date is the
//! first day it no longer holds: closing today stops it today.
use super::parse_date;
use crate::error::Errors;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub ouverture: NaiveDate,
    pub cloture: Option<NaiveDate>,
}

impl Period {
    /// Reads the two dates of a form. The opening date defaults to `today`;
    /// the closing date is never in the past (non-retroactive) nor before
    /// the opening. Errors go to `errs` under `date_ouverture` and
    /// `date_cloture`.
    pub fn parse(
        errs: &mut Errors,
        ouverture: &str,
        cloture: &str,
        today: NaiveDate,
    ) -> Option<Period> {
        let o = errs.check("date_ouverture", parse_date(ouverture));
        let c = errs.check("date_cloture", parse_date(cloture));
        let (o, c) = (o?.unwrap_or(today), c?);
        if let Some(c) = c {
            if c < today {
                errs.add(
                    "date_cloture",
                    "La date de clôture ne peut pas être dans le passé.",
                );
                return None;
            }
            if c < o {
                errs.add(
                    "date_cloture",
                    "La date de clôture ne peut pas précéder la date d'ouverture.",
                );
                return None;
            }
            // A period holds at least one day: the closing date is the
            // first day without it. Only closing today something already
            // open (ending it at once) gives an empty period.
            if c == o && o > today {
                errs.add(
                    "date_cloture",
                    "La date de clôture doit suivre la date d'ouverture : la période doit compter au moins un jour (la date de clôture est le premier jour sans le droit).",
                );
                return None;
            }
        }
        Some(Period {
            ouverture: o,
            cloture: c,
        })
    }

    /// The same, for something that starts now or later: its opening date
    /// is not in the past either (nothing is given retroactively).
    pub fn parse_from_today(
        errs: &mut Errors,
        ouverture: &str,
        cloture: &str,
        today: NaiveDate,
    ) -> Option<Period> {
        let p = Self::parse(errs, ouverture, cloture, today)?;
        if p.ouverture < today {
            errs.add(
                "date_ouverture",
                "La date d'ouverture ne peut pas être dans le passé.",
            );
            return None;
        }
        if p.cloture == Some(p.ouverture) {
            errs.add(
                "date_cloture",
                "La date de clôture doit suivre la date d'ouverture : la période doit compter au moins un jour (la date de clôture est le premier jour sans le droit).",
            );
            return None;
        }
        Some(p)
    }

    /// Open on `day`.
    pub fn holds_on(&self, day: NaiveDate) -> bool {
        self.ouverture <= day && self.cloture.is_none_or(|c| day < c)
    }
}

/// "Ouvert" or "Clôturé" (or "À venir") on `today`, from the dates.
pub fn statut(ouverture: NaiveDate, cloture: Option<NaiveDate>, today: NaiveDate) -> &'static str {
    if cloture.is_some_and(|c| c <= today) {
        "Clôturé"
    } else if ouverture > today {
        "À venir"
    } else {
        "Ouvert"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn dates_default_and_never_close_in_the_past() {
        let today = d("2026-11-30");
        let mut e = Errors::default();
        let p = Period::parse(&mut e, "", "", today).unwrap();
        assert_eq!(p.ouverture, today);
        assert_eq!(p.cloture, None);
        assert!(p.holds_on(today));
        let p = Period::parse(&mut e, "2026-12-01", "02/12/2026", today).unwrap();
        assert!(!p.holds_on(today) && p.holds_on(d("2026-12-01")) && !p.holds_on(d("2026-12-02")));
        assert!(e.finish().is_ok());
        let mut e = Errors::default();
        assert!(Period::parse(&mut e, "", "2026-11-29", today).is_none());
        assert!(e.finish().unwrap_err().field("date_cloture").is_some());
        let mut e = Errors::default();
        assert!(Period::parse(&mut e, "2026-12-10", "2026-12-05", today).is_none());
        let mut e = Errors::default();
        assert!(Period::parse_from_today(&mut e, "2026-11-29", "", today).is_none());
        assert!(e.finish().unwrap_err().field("date_ouverture").is_some());
        // A period holds at least one day; ending today what is open is
        // the one empty period allowed.
        let mut e = Errors::default();
        assert!(Period::parse(&mut e, "2026-12-01", "2026-12-01", today).is_none());
        assert!(e.finish().unwrap_err().field("date_cloture").is_some());
        let mut e = Errors::default();
        assert!(Period::parse_from_today(&mut e, "", "2026-11-30", today).is_none());
        let mut e = Errors::default();
        assert!(Period::parse(&mut e, "2026-11-30", "2026-11-30", today).is_some());
        let mut e = Errors::default();
        assert!(Period::parse(&mut e, "demain", "", today).is_none());
        assert!(e.finish().unwrap_err().field("date_ouverture").is_some());
    }

    #[test]
    fn statut_follows_the_dates() {
        let today = d("2026-11-30");
        assert_eq!(statut(today, None, today), "Ouvert");
        assert_eq!(statut(today, Some(today), today), "Clôturé");
        assert_eq!(statut(d("2026-12-01"), None, today), "À venir");
        assert_eq!(
            statut(d("2026-01-01"), Some(d("2026-12-01")), today),
            "Ouvert"
        );
    }
}
