//! How the journal reads in French: action labels, target types, and the
//! before/after of an event as "champ : ancien → nouveau".
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// Every action the code records, with its label (the "Action" filter's
/// options). A unit test fails when an `action:` of `app/src` is missing.
pub const ACTIONS: &[(&str, &str)] = &[
    ("compte.creation", "Création d'un compte"),
    (
        "compte.validation_email",
        "Validation de l'adresse électronique",
    ),
    (
        "compte.reinitialisation_mot_de_passe",
        "Réinitialisation du mot de passe",
    ),
    (
        "utilisateur.renvoi_identifiant",
        "Renvoi de l'identifiant par mail",
    ),
    ("structure.creation", "Enregistrement d'une structure"),
    (
        "structure.limite_administrateurs",
        "Modification du nombre d'administrateurs autorisés",
    ),
    (
        "administrateur.nomination",
        "Nomination d'un administrateur",
    ),
    ("administrateur.retrait", "Retrait d'un administrateur"),
    (
        "gestionnaire_principal.transfert",
        "Transfert du gestionnaire principal",
    ),
    ("service.creation", "Création d'un service"),
    ("service.modification", "Modification d'un service"),
    ("service.activation", "Activation d'un service"),
    ("service.desactivation", "Désactivation d'un service"),
    ("demande.creation", "Demande d'accès"),
    ("demande.annulation", "Annulation d'une demande d'accès"),
    ("demande.acceptation", "Acceptation d'une demande d'accès"),
    ("demande.refus", "Refus d'une demande d'accès"),
    ("habilitation.attribution", "Attribution d'une habilitation"),
    ("habilitation.retrait", "Retrait d'une habilitation"),
    (
        "habilitation.dates",
        "Modification des dates d'une habilitation",
    ),
    (
        "operateur.agent_creation",
        "Création d'un agent de l'opérateur",
    ),
    (
        "operateur.agent_cloture",
        "Clôture d'un agent de l'opérateur",
    ),
    ("utilisateur.creation", "Création d'un utilisateur"),
    ("utilisateur.modification", "Modification d'un utilisateur"),
    ("utilisateur.cloture", "Clôture d'un utilisateur"),
    ("utilisateur.reouverture", "Réouverture d'un utilisateur"),
    ("compte.activation", "Activation d'un compte invité"),
    ("rattachement.creation", "Rattachement à la structure"),
    ("rattachement.modification", "Changement de rattachement"),
    ("rattachement.detachement", "Détachement de la structure"),
    ("rattachement.detachement_service", "Détachement du service"),
    (
        "rattachement.invitation",
        "Invitation à rejoindre la structure",
    ),
    (
        "rattachement.invitation_refusee",
        "Invitation à rejoindre la structure refusée",
    ),
    (
        "utilisateur.email_confirme",
        "Confirmation d'une nouvelle adresse mail",
    ),
    ("utilisateurs.import", "Import d'utilisateurs"),
    ("demarche.activation", "Activation d'une démarche"),
    (
        "demarche.modification",
        "Modification des rôles d'une démarche",
    ),
    ("demarche.desactivation", "Désactivation d'une démarche"),
    ("convention.creation", "Formalisation d'une convention"),
    ("convention.modification", "Modification d'une convention"),
    ("convention.cloture", "Clôture d'une convention"),
    ("groupe.creation", "Création d'un groupe d'utilisateurs"),
    (
        "groupe.modification",
        "Modification d'un groupe d'utilisateurs",
    ),
    ("groupe.cloture", "Clôture d'un groupe d'utilisateurs"),
    (
        "groupe.responsable",
        "Désignation du responsable habilitations",
    ),
    ("groupe.role_assigne", "Rôle assigné à un groupe"),
    ("groupe.role_retire", "Rôle retiré à un groupe"),
    (
        "groupe.role_prolonge",
        "Rôle d'un groupe prolongé avec sa convention",
    ),
    ("groupe.ajout_utilisateur", "Ajout à un groupe"),
    (
        "groupe.appartenance_modifiee",
        "Modification de l'appartenance à un groupe",
    ),
];

/// Target types and their labels; typing one in "Cible" filters on it.
pub const TARGET_TYPES: &[(&str, &str)] = &[
    ("utilisateur", "Utilisateur"),
    ("service", "Service"),
    ("structure", "Structure"),
    ("habilitation", "Habilitation"),
    ("demande", "Demande d'accès"),
    ("demarche", "Démarche"),
    ("convention", "Convention"),
    ("groupe", "Groupe d'utilisateurs"),
];

/// Keys of before/after whose numeric value is a user id, shown as a name.
pub const USER_KEYS: &[&str] = &["utilisateur", "gestionnaire_principal", "responsable"];

/// Keys whose numeric value is a user group id, shown as its name.
pub const GROUP_KEYS: &[&str] = &["groupe", "groupe_parent"];

/// Keys whose numeric value is a service (unit) id, shown as its name.
pub const UNIT_KEYS: &[&str] = &["service"];

/// The names an event's ids are shown as, read in one query per page.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub users: HashMap<i64, String>,
    /// "CODE — Libellé".
    pub units: HashMap<i64, String>,
    /// "CODE — Libellé".
    pub groups: HashMap<i64, String>,
}

pub fn action_label(code: &str) -> String {
    ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// The label of one event: the action's, told more precisely when the
/// event says where (the service attached to or left).
pub fn entry_label(
    code: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    names: &Names,
) -> String {
    let unit = |v: Option<&Value>| {
        let id = v?.get("service")?.as_i64()?;
        Some(
            names
                .units
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "supprimé".into()),
        )
    };
    match (code, unit(before), unit(after)) {
        ("rattachement.creation", _, Some(u)) => format!("Rattachement au service {u}"),
        ("rattachement.detachement_service", Some(u), _) => format!("Détachement du service {u}"),
        ("rattachement.invitation", _, Some(u)) => {
            format!("Invitation à rejoindre la structure, au service {u}")
        }
        _ => action_label(code),
    }
}

pub fn target_type_label(code: &str) -> String {
    TARGET_TYPES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// The target type named by a search text ("service", "Demande d'accès"…).
pub fn target_type_named(text: &str) -> Option<&'static str> {
    let t = text.trim().to_lowercase();
    TARGET_TYPES
        .iter()
        .find(|(c, l)| *c == t || l.to_lowercase() == t)
        .map(|(c, _)| *c)
}

/// Every key the code records in an event's before/after, with its label.
/// A unit test fails when a key written in `app/src` is missing (ids
/// excepted: they are never shown).
pub const FIELDS: &[(&str, &str)] = &[
    ("code", "Code"),
    ("libelle", "Libellé"),
    (
        "numero_engagement_obligatoire",
        "Numéro d'engagement obligatoire",
    ),
    ("active", "Actif"),
    ("statut", "Statut"),
    ("commentaire", "Commentaire"),
    ("message", "Message"),
    ("role", "Rôle"),
    ("application", "Démarche"),
    ("utilisateur", "Utilisateur"),
    ("email", "Adresse électronique"),
    ("nom", "Nom"),
    ("prenom", "Prénom"),
    ("siret", "SIRET"),
    ("gestionnaire_principal", "Gestionnaire principal"),
    ("admin_role", "Rôle d'administration"),
    ("max_admins", "Nombre d'administrateurs autorisés"),
    ("civilite", "Civilité"),
    ("telephone", "Téléphone"),
    ("poste", "Poste de travail"),
    ("date_ouverture", "Date d'ouverture"),
    ("date_cloture", "Date de clôture"),
    ("service", "Service"),
    ("administrateur", "Rôle d'administration"),
    ("roles", "Rôles"),
    ("habilitations_closes", "Habilitations closes"),
    ("lignes", "Lignes"),
    ("creations", "Créations"),
    ("rattachements", "Rattachements"),
    ("invitations", "Invitations"),
    (
        "email_en_attente",
        "Adresse mail en attente de confirmation",
    ),
    ("mises_a_jour", "Mises à jour"),
    (
        "role_du_nouveau",
        "Rôle du nouveau gestionnaire principal avant le transfert",
    ),
    (
        "role_de_l_ancien",
        "Rôle de l'ancien gestionnaire principal après le transfert",
    ),
    ("mode", "Type de transfert"),
    ("roles_ajoutes", "Rôles ajoutés"),
    ("roles_retires", "Rôles retirés"),
    ("groupe", "Groupe"),
    ("groupe_parent", "Sous-groupe de"),
    ("responsable", "Responsable habilitations"),
    ("appartenances_closes", "Appartenances closes"),
    ("par_le_groupe_parent", "Par le groupe parent"),
    ("par_le_groupe", "Par la clôture du groupe"),
    ("par_la_convention", "Par la convention"),
    ("motif", "Motif"),
    ("groupe_clos", "Groupe clôturé"),
];

/// The label of a recorded key; an unknown key is shown as it is (and the
/// tests that walk the journal fail on it).
fn field_label(key: &str) -> String {
    FIELDS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| key.to_string())
}

/// Keys that hold a reference to another record (an id, or none), never
/// shown: the target and the organisation have their own columns, in names.
pub const REFERENCES: &[&str] = &["habilitation", "demande", "invitation", "appartenance"];

/// Technical references (ids) that say nothing to a reader.
fn hidden(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || REFERENCES.contains(&key)
}

/// Coded values, in words. Keyed by field where a code means different
/// things in different fields.
fn coded_value(key: &str, s: &str) -> Option<&'static str> {
    Some(match (key, s) {
        ("civilite", "M") => "Monsieur",
        ("civilite", "Mme") => "Madame",
        ("mode", "partie") => "une partie des structures, vers un même gestionnaire",
        ("mode", "toutes") => "toutes les structures, vers un même gestionnaire",
        ("mode", "chacune") => "chaque structure vers le gestionnaire choisi pour elle",
        (_, "pending") => "En attente",
        (_, "accepted") => "Acceptée",
        (_, "refused") => "Refusée",
        (_, "cancelled") => "Annulée",
        (_, "expired") => "Expirée",
        (_, "primary_manager") => "Gestionnaire principal",
        (_, "org_admin") => "Administrateur",
        (_, "sedentaire") => "Sédentaire",
        (_, "itinerant") => "Itinérant",
        (_, "") => "(vide)",
        _ => return None,
    })
}

fn value_text(key: &str, v: &Value, names: &Names) -> String {
    match v {
        Value::Null if UNIT_KEYS.contains(&key) => "aucun (la structure)".into(),
        Value::Null
            if matches!(
                key,
                "admin_role" | "administrateur" | "role_du_nouveau" | "role_de_l_ancien"
            ) =>
        {
            "aucun".into()
        }
        Value::Null if key == "groupe_parent" => "aucun (groupe de niveau 1)".into(),
        Value::Null => "(vide)".into(),
        Value::Array(items) if items.is_empty() => "(aucun)".into(),
        Value::Array(items) => items
            .iter()
            .map(|i| value_text(key, i, names))
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) if iso_date(s).is_some() => iso_date(s).unwrap_or_default(),
        Value::Bool(b) => if *b { "oui" } else { "non" }.into(),
        Value::Number(n) if USER_KEYS.contains(&key) => n
            .as_i64()
            .and_then(|id| names.users.get(&id).cloned())
            .unwrap_or_else(|| "(utilisateur supprimé)".into()),
        Value::Number(n) if GROUP_KEYS.contains(&key) => n
            .as_i64()
            .and_then(|id| names.groups.get(&id).cloned())
            .unwrap_or_else(|| "(groupe supprimé)".into()),
        Value::Number(n) if UNIT_KEYS.contains(&key) => n
            .as_i64()
            .and_then(|id| names.units.get(&id).cloned())
            .unwrap_or_else(|| "(service supprimé)".into()),
        Value::Number(n) => n.to_string(),
        Value::String(s) => coded_value(key, s)
            .map(str::to_string)
            .unwrap_or_else(|| s.clone()),
        other => other.to_string(),
    }
}

/// "2026-11-25" → "25/11/2026" (dates as French readers write them).
fn iso_date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shape.then(|| format!("{}/{}/{}", &s[8..10], &s[5..7], &s[..4]))
}

/// One changed field of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Change {
    /// "Libellé : Compta → Comptabilité".
    pub fn line(&self) -> String {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => format!("{} : {b} → {a}", self.field),
            (None, Some(v)) | (Some(v), None) => format!("{} : {v}", self.field),
            (None, None) => self.field.clone(),
        }
    }
}

/// The readable difference between an event's before and after. When both
/// exist, only the fields that `after` records and that changed are kept.
pub fn changes(before: Option<&Value>, after: Option<&Value>, names: &Names) -> Vec<Change> {
    let obj = |v: Option<&Value>| v.and_then(Value::as_object).cloned();
    let (b, a) = (obj(before), obj(after));
    let keys: Vec<&String> = match (&b, &a) {
        (_, Some(a)) => a.keys().collect(),
        (Some(b), None) => b.keys().collect(),
        (None, None) => vec![],
    };
    keys.into_iter()
        .filter_map(|k| {
            let bv = b.as_ref().and_then(|m| m.get(k));
            let av = a.as_ref().and_then(|m| m.get(k));
            if bv.is_some() && bv == av {
                return None;
            }
            if hidden(k) {
                return None;
            }
            // A record created with a field left empty: nothing to tell
            // (a structure-level attachment is worth saying, though).
            let empty = |v: Option<&Value>| {
                matches!(v, None | Some(Value::Null))
                    || v.and_then(Value::as_str).is_some_and(str::is_empty)
            };
            if bv.is_none() && empty(av) && !UNIT_KEYS.contains(&k.as_str()) {
                return None;
            }
            Some(Change {
                field: field_label(k),
                before: bv.map(|v| value_text(k, v, names)),
                after: av.map(|v| value_text(k, v, names)),
            })
        })
        .collect()
}

/// The ids under `keys` in an event's before/after (to name them).
pub fn refs<'a>(v: Option<&'a Value>, keys: &'a [&'a str]) -> impl Iterator<Item = i64> + 'a {
    v.and_then(Value::as_object)
        .into_iter()
        .flat_map(move |m| keys.iter().filter_map(|k| m.get(*k)?.as_i64()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_creation_leaves_out_empty_fields() {
        let after = json!({"nom": "Curie", "telephone": "", "date_cloture": null, "service": null});
        let lines: Vec<String> = changes(None, Some(&after), &Names::default())
            .iter()
            .map(Change::line)
            .collect();
        assert_eq!(lines, vec!["Nom : Curie", "Service : aucun (la structure)"]);
    }

    #[test]
    fn a_modification_shows_only_changed_fields() {
        let before = json!({"id": 3, "organisation_id": 1, "code": "COMPTA", "libelle": "Compta",
                            "active": true, "numero_engagement_obligatoire": false});
        let after = json!({"code": "COMPTA", "libelle": "Comptabilité", "numero_engagement_obligatoire": true});
        let lines: Vec<String> = changes(Some(&before), Some(&after), &Names::default())
            .iter()
            .map(Change::line)
            .collect();
        assert_eq!(
            lines,
            vec![
                "Libellé : Compta → Comptabilité",
                "Numéro d'engagement obligatoire : non → oui"
            ]
        );
    }

    #[test]
    fn ids_become_names_or_disappear() {
        let names = Names {
            users: HashMap::from([(7, "Marie Curie".to_string())]),
            units: HashMap::from([(3, "FACT — Facturation".to_string())]),
            groups: HashMap::new(),
        };
        let after = json!({"utilisateur": 7, "role": "Consultation", "demande": 12,
                           "statut": "accepted", "service": 3, "invitation": 9});
        let lines: Vec<String> = changes(None, Some(&after), &names)
            .iter()
            .map(Change::line)
            .collect();
        assert_eq!(
            lines,
            vec![
                "Rôle : Consultation",
                "Service : FACT — Facturation",
                "Statut : Acceptée",
                "Utilisateur : Marie Curie"
            ]
        );
        assert_eq!(refs(Some(&after), USER_KEYS).collect::<Vec<_>>(), vec![7]);
        assert_eq!(refs(Some(&after), UNIT_KEYS).collect::<Vec<_>>(), vec![3]);
        assert_eq!(
            entry_label("rattachement.creation", None, Some(&after), &names),
            "Rattachement au service FACT — Facturation"
        );
        assert_eq!(
            entry_label(
                "rattachement.detachement_service",
                Some(&json!({"service": 3})),
                None,
                &names
            ),
            "Détachement du service FACT — Facturation"
        );
        assert_eq!(
            entry_label(
                "rattachement.creation",
                None,
                Some(&json!({"service": null})),
                &names
            ),
            "Rattachement à la structure"
        );
    }

    #[test]
    fn lists_dates_and_levels_read_as_words() {
        let users = Names::default();
        assert_eq!(value_text("roles", &json!([]), &users), "(aucun)");
        assert_eq!(
            value_text("roles", &json!(["Utilisateur", "Administrateur"]), &users),
            "Utilisateur, Administrateur"
        );
        assert_eq!(
            value_text("date_ouverture", &json!("2026-11-25"), &users),
            "25/11/2026"
        );
        assert_eq!(
            value_text("libelle", &json!("2026-1-25"), &users),
            "2026-1-25"
        );
        assert_eq!(
            value_text("service", &Value::Null, &users),
            "aucun (la structure)"
        );
    }

    #[test]
    fn labels_fall_back_to_readable_codes() {
        assert_eq!(action_label("service.creation"), "Création d'un service");
        assert_eq!(action_label("x.inconnue"), "x.inconnue");
        assert_eq!(target_type_named(" Service "), Some("service"));
        assert_eq!(target_type_named("demande d'accès"), Some("demande"));
        assert_eq!(target_type_named("Martin"), None);
        assert_eq!(
            field_label("role_de_l_ancien"),
            "Rôle de l'ancien gestionnaire principal après le transfert"
        );
        assert_eq!(
            value_text("mode", &json!("partie"), &Names::default()),
            "une partie des structures, vers un même gestionnaire"
        );
        assert_eq!(
            value_text("civilite", &json!("Mme"), &Names::default()),
            "Madame"
        );
    }

    /// The Rust sources of `app/src`, this file excepted.
    fn sources() -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs")
                    && !p.ends_with("journal/labels.rs")
                {
                    out.push(std::fs::read_to_string(p).unwrap());
                }
            }
        }
        let mut files = vec![];
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        files
    }

    /// Every key written in a `json!({…})` of `app/src` (the events'
    /// before/after) has a French label, ids excepted.
    #[test]
    fn every_recorded_key_has_a_label() {
        let files = sources();
        let (mut found, mut missing) = (0, vec![]);
        for src in &files {
            for part in src.split("json!({").skip(1) {
                // Up to the brace that closes the object.
                let mut depth = 1;
                let end = part
                    .char_indices()
                    .find(|(_, c)| {
                        match c {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .map(|(i, _)| i)
                    .unwrap_or(part.len());
                let body = &part[..end];
                // `"key":` at the top level of the object.
                for (i, _) in body.match_indices("\":") {
                    let Some(start) = body[..i].rfind('"') else {
                        continue;
                    };
                    let key = &body[start + 1..i];
                    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                        continue;
                    }
                    found += 1;
                    let shown = !hidden(key);
                    if shown && !FIELDS.iter().any(|(k, _)| *k == key) {
                        missing.push(key.to_string());
                    }
                }
            }
        }
        assert!(found >= 30, "keys not found in the sources ({found})");
        assert!(missing.is_empty(), "keys without a label: {missing:?}");
    }

    /// Every action written anywhere in `app/src` has a French label.
    #[test]
    fn every_recorded_action_has_a_label() {
        let files = sources();
        let mut missing = vec![];
        let mut found = 0;
        for src in &files {
            // The string literals between `action:` and `target_type:`.
            for part in src.split("action:").skip(1) {
                let Some((span, _)) = part.split_once("target_type:") else {
                    continue;
                };
                if span.len() > 300 {
                    continue;
                }
                for lit in span.split('"').skip(1).step_by(2) {
                    found += 1;
                    if !ACTIONS.iter().any(|(c, _)| *c == lit) {
                        missing.push(lit.to_string());
                    }
                }
            }
        }
        // The first string literal of `….event(` and `Event::by(` calls:
        // their action.
        for src in &files {
            for call in [".event(", "Event::by("] {
                for part in src.split(call).skip(1) {
                    if let Some(lit) = part
                        .split('"')
                        .nth(1)
                        .filter(|l| l.contains('.') && !l.contains(' '))
                    {
                        found += 1;
                        if !ACTIONS.iter().any(|(c, _)| *c == lit) {
                            missing.push(lit.to_string());
                        }
                    }
                }
            }
        }
        assert!(found >= 30, "actions not found in the sources");
        assert!(missing.is_empty(), "actions without a label: {missing:?}");
    }
}
