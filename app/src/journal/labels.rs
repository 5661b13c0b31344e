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
];

/// Target types and their labels; typing one in "Cible" filters on it.
pub const TARGET_TYPES: &[(&str, &str)] = &[
    ("utilisateur", "Utilisateur"),
    ("service", "Service"),
    ("structure", "Structure"),
    ("habilitation", "Habilitation"),
    ("demande", "Demande d'accès"),
    ("demarche", "Démarche"),
];

/// Keys of before/after whose numeric value is a user id, shown as a name.
pub const USER_KEYS: &[&str] = &["utilisateur", "gestionnaire_principal"];

pub fn action_label(code: &str) -> String {
    ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| code.to_string())
}

pub fn target_type_label(code: &str) -> String {
    TARGET_TYPES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| humanise(code))
}

/// The target type named by a search text ("service", "Demande d'accès"…).
pub fn target_type_named(text: &str) -> Option<&'static str> {
    let t = text.trim().to_lowercase();
    TARGET_TYPES
        .iter()
        .find(|(c, l)| *c == t || l.to_lowercase() == t)
        .map(|(c, _)| *c)
}

fn field_label(key: &str) -> String {
    match key {
        "code" => "Code",
        "libelle" => "Libellé",
        "numero_engagement_obligatoire" => "Numéro d'engagement obligatoire",
        "active" => "Actif",
        "statut" => "Statut",
        "commentaire" => "Commentaire",
        "message" => "Message",
        "role" => "Rôle",
        "application" => "Démarche",
        "utilisateur" => "Utilisateur",
        "email" => "Adresse électronique",
        "nom" => "Nom",
        "prenom" => "Prénom",
        "siret" => "SIRET",
        "gestionnaire_principal" => "Gestionnaire principal",
        "admin_role" => "Rôle d'administration",
        "max_admins" => "Nombre d'administrateurs autorisés",
        "civilite" => "Civilité",
        "telephone" => "Téléphone",
        "poste" => "Poste de travail",
        "date_ouverture" => "Date d'ouverture",
        "date_cloture" => "Date de clôture",
        "service" => "Service",
        "administrateur" => "Administrateur",
        "roles" => "Rôles",
        "habilitations_closes" => "Habilitations closes",
        "lignes" => "Lignes",
        "creations" => "Créations",
        "rattachements" => "Rattachements",
        "invitations" => "Invitations",
        "invitation" => "Invitation",
        "email_en_attente" => "Adresse mail en attente de confirmation",
        "mises_a_jour" => "Mises à jour",
        other => return humanise(other),
    }
    .to_string()
}

/// "role_du_nouveau" → "Role du nouveau".
fn humanise(key: &str) -> String {
    let s = key.replace(['_', '.'], " ");
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Technical references (ids) that say nothing to a reader: the target and
/// the organisation are shown in their own columns, in names.
fn hidden(key: &str, v: &Value) -> bool {
    key == "id"
        || key.ends_with("_id")
        || (matches!(key, "habilitation" | "demande") && v.is_number())
}

fn value_text(key: &str, v: &Value, users: &HashMap<i64, String>) -> String {
    match v {
        Value::Null if key == "service" => "aucun (la structure)".into(),
        Value::Null => "(vide)".into(),
        Value::Array(items) if items.is_empty() => "(aucun)".into(),
        Value::Array(items) => items
            .iter()
            .map(|i| value_text(key, i, users))
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) if iso_date(s).is_some() => iso_date(s).unwrap_or_default(),
        Value::Bool(b) => if *b { "oui" } else { "non" }.into(),
        Value::Number(n) if USER_KEYS.contains(&key) => n
            .as_i64()
            .and_then(|id| users.get(&id).cloned())
            .unwrap_or_else(|| "(utilisateur supprimé)".into()),
        Value::Number(n) => n.to_string(),
        Value::String(s) => match s.as_str() {
            "pending" => "En attente".into(),
            "accepted" => "Acceptée".into(),
            "refused" => "Refusée".into(),
            "cancelled" => "Annulée".into(),
            "expired" => "Expirée".into(),
            "primary_manager" => "Gestionnaire principal".into(),
            "org_admin" => "Administrateur".into(),
            "sedentaire" => "Sédentaire".into(),
            "itinerant" => "Itinérant".into(),
            "" => "(vide)".into(),
            _ => s.clone(),
        },
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
pub fn changes(
    before: Option<&Value>,
    after: Option<&Value>,
    users: &HashMap<i64, String>,
) -> Vec<Change> {
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
            if bv.or(av).is_some_and(|v| hidden(k, v)) {
                return None;
            }
            Some(Change {
                field: field_label(k),
                before: bv.map(|v| value_text(k, v, users)),
                after: av.map(|v| value_text(k, v, users)),
            })
        })
        .collect()
}

/// The user ids an event's before/after refer to (to name them).
pub fn user_refs(v: Option<&Value>) -> impl Iterator<Item = i64> + '_ {
    v.and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| USER_KEYS.iter().filter_map(|k| m.get(*k)?.as_i64()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_modification_shows_only_changed_fields() {
        let before = json!({"id": 3, "organisation_id": 1, "code": "COMPTA", "libelle": "Compta",
                            "active": true, "numero_engagement_obligatoire": false});
        let after = json!({"code": "COMPTA", "libelle": "Comptabilité", "numero_engagement_obligatoire": true});
        let lines: Vec<String> = changes(Some(&before), Some(&after), &HashMap::new())
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
        let users = HashMap::from([(7, "Marie Curie".to_string())]);
        let after =
            json!({"utilisateur": 7, "role": "Consultation", "demande": 12, "statut": "accepted"});
        let lines: Vec<String> = changes(None, Some(&after), &users)
            .iter()
            .map(Change::line)
            .collect();
        assert_eq!(
            lines,
            vec![
                "Rôle : Consultation",
                "Statut : Acceptée",
                "Utilisateur : Marie Curie"
            ]
        );
        assert_eq!(user_refs(Some(&after)).collect::<Vec<_>>(), vec![7]);
    }

    #[test]
    fn lists_dates_and_levels_read_as_words() {
        let users = HashMap::new();
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
        assert_eq!(field_label("role_du_nouveau"), "Role du nouveau");
    }

    /// Every action written anywhere in `app/src` has a French label.
    #[test]
    fn every_recorded_action_has_a_label() {
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
        assert!(found >= 10, "actions not found in the sources");
        assert!(missing.is_empty(), "actions without a label: {missing:?}");
    }
}
