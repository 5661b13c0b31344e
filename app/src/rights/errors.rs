//! The database's refusals on groups, memberships and group rights (its
//! constraints and triggers), as field errors in French: read by the
//! rights core and by the groups' screens alike.
use crate::error::AppError;

/// The database's refusals on groups, as field errors in French.
pub fn group_error(e: sqlx::Error) -> AppError {
    if let sqlx::Error::Database(d) = &e {
        let (field, message) = match d.constraint() {
            Some("user_groups_code_key") => ("code", "Ce code est déjà utilisé par un autre groupe de la structure."),
            Some("user_groups_no_cycle") => ("parent_id", "Un groupe ne peut pas être sous-groupe de lui-même ni de l'un de ses sous-groupes."),
            Some("user_groups_parent_open") => ("parent_id", "Le groupe parent est clôturé."),
            Some("user_groups_responsable_member") => ("responsable", "Le responsable habilitations doit être un agent ouvert de la structure."),
            Some("group_grants_within_parent") => ("role_ids", "Un sous-groupe ne peut recevoir que des rôles que détient son groupe parent."),
            Some("group_grants_within_convention") => ("role_ids", "Ce rôle n'est pas prévu par la convention du groupe."),
            Some("group_grants_group_open") | Some("group_memberships_group_open") => ("group_id", "Le groupe est clôturé."),
            Some("group_memberships_no_overlap") => ("date_ouverture", "L'utilisateur appartient déjà à ce groupe sur cette période."),
            Some("group_memberships_member") => ("utilisateur", "L'utilisateur n'est pas rattaché à la structure."),
            Some("group_memberships_not_self") => ("utilisateur", "Vous ne pouvez pas vous ajouter vous-même à un groupe."),
            Some("user_groups_within_parent") => ("date_cloture", "Un sous-groupe ne reste pas ouvert après son groupe parent : sa date de clôture est au plus celle du parent."),
            Some("user_groups_closed") => ("date_cloture", "Ce groupe est clôturé : il ne se rouvre pas (créez-en un nouveau)."),
            Some("group_memberships_closed") => ("date_cloture", "Cette appartenance est close : elle ne se modifie plus."),
            Some("user_groups_convention_id_fkey") | Some("user_groups_organisation_id_convention_id_fkey") => {
                ("convention_id", "Choisissez une convention de la structure.")
            }
            Some("user_groups_organisation_id_convention_id_parent_id_fkey") => {
                ("parent_id", "Un sous-groupe appartient à la même convention que son groupe parent.")
            }
            _ => return e.into(),
        };
        return AppError::invalid(field, message);
    }
    e.into()
}
