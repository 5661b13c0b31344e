//! Reference and demo data: the catalogue, the SIRENE extract, the
//! operator account and the demo organisation.
use sqlx::PgPool;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An application of the catalogue: code, libellé, description, roles
/// (code, libellé).
type CatalogueEntry = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Applications and roles from the four portals of the seeds.
const CATALOGUE: &[CatalogueEntry] = &[
    (
        "soffi",
        "SOFFi",
        "Suivi des organismes de formation financés",
        &[
            ("consultation", "Consultation"),
            ("saisie", "Saisie"),
            ("administrateur", "Administrateur"),
        ],
    ),
    (
        "parapheur",
        "Parapheur",
        "Circuits de signature électronique",
        &[
            ("utilisateur", "Utilisateur"),
            ("administrateur", "Administrateur"),
        ],
    ),
    (
        "mon-activite-formation",
        "Mon activité formation",
        "Déclaration de l'activité des organismes de formation",
        &[("consultation", "Consultation"), ("declarant", "Déclarant")],
    ),
    (
        "actes",
        "Télétransmission ACTES",
        "Transmission des actes au contrôle de légalité",
        &[
            ("utilisateur", "Utilisateur"),
            ("administrateur", "Administrateur"),
        ],
    ),
    (
        "cdap",
        "CDAP",
        "Consultation du dossier allocataire par les partenaires",
        &[("consultation", "Consultation")],
    ),
    (
        "afas",
        "AFAS",
        "Aide financière et action sociale",
        // « Habiliter »: its holders administer the others' AFAS profiles.
        &[
            ("consultation", "Consultation"),
            ("saisie", "Saisie"),
            ("habiliter", "Habiliter"),
        ],
    ),
];

pub async fn catalogue(pool: &PgPool) -> Result<(), BoxError> {
    let mut tx = pool.begin().await?;
    for (pos, (code, libelle, description, roles)) in CATALOGUE.iter().enumerate() {
        // SOFFi is open to every training organisation; the others are
        // activated per organisation by an operator (conventions).
        let app_id = sqlx::query_scalar!(
            "insert into applications (code, libelle, description, position, activation_par_defaut)
             values ($1, $2, $3, $4, $5)
             on conflict (code) do update set libelle = excluded.libelle,
                 activation_par_defaut = excluded.activation_par_defaut returning id",
            code,
            libelle,
            description,
            pos as i32,
            *code == "soffi",
        )
        .fetch_one(&mut *tx)
        .await?;
        for (rpos, (rcode, rlib)) in roles.iter().enumerate() {
            sqlx::query!(
                "insert into roles (application_id, code, libelle, position) values ($1, $2, $3, $4)
                 on conflict (application_id, code) do nothing",
                app_id,
                rcode,
                rlib,
                rpos as i32,
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    // The role named « habiliter » of an application is the one whose
    // holders may administer its per-user profiles (CAF's Afas rule).
    sqlx::query!(
        "update applications a set habiliter_role_id = r.id from roles r
          where r.application_id = a.id and r.code = 'habiliter'
            and a.habiliter_role_id is distinct from r.id"
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Loads a SIRENE stock extract (INSEE column names) into the local
/// directory table; existing rows are refreshed.
pub async fn load_sirene(pool: &PgPool, path: &str) -> Result<usize, BoxError> {
    let mut reader = csv::ReaderBuilder::new().from_path(path)?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or(format!("colonne {name} absente de {path}"))
    };
    let (c_siret, c_etat, c_denom, c_enseigne) = (
        col("siret")?,
        col("etatAdministratifEtablissement")?,
        col("denominationUniteLegale")?,
        col("enseigne1Etablissement")?,
    );
    let (c_num, c_type, c_voie, c_cp, c_commune) = (
        col("numeroVoieEtablissement")?,
        col("typeVoieEtablissement")?,
        col("libelleVoieEtablissement")?,
        col("codePostalEtablissement")?,
        col("libelleCommuneEtablissement")?,
    );
    let mut tx = pool.begin().await?;
    let mut n = 0;
    for rec in reader.records() {
        let rec = rec?;
        let g = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
        let siret = g(c_siret);
        let adresse = [g(c_num), g(c_type), g(c_voie)]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        sqlx::query!(
            "insert into sirene_etablissements (siret, siren, denomination, enseigne, adresse, code_postal, commune, etat_administratif)
             values ($1, $2, $3, nullif($4, ''), $5, $6, $7, $8)
             on conflict (siret) do update set denomination = excluded.denomination, enseigne = excluded.enseigne,
               adresse = excluded.adresse, code_postal = excluded.code_postal, commune = excluded.commune,
               etat_administratif = excluded.etat_administratif",
            &siret,
            &siret[..9.min(siret.len())],
            g(c_denom),
            g(c_enseigne),
            adresse,
            g(c_cp),
            g(c_commune),
            g(c_etat),
        )
        .execute(&mut *tx)
        .await?;
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}

/// Creates (or promotes) an operator account, verified and open.
pub async fn create_operator(pool: &PgPool, email: &str, password: &str) -> Result<(), BoxError> {
    let email = app::domain::Email::parse(email)?;
    let password = app::domain::Password::parse(password)?;
    let hash = hash(password.expose())?;
    let identifier = app::domain::UserIdentifier::generate(rand_index)
        .as_str()
        .to_string();
    sqlx::query!(
        "insert into users (identifier, civilite, nom, prenom, email, email_verified_at, password_hash, is_operator)
         values ($1, 'M', 'Opérateur', 'Agent', $2, now(), $3, true)
         on conflict (email) do update set is_operator = true, password_hash = excluded.password_hash,
            email_verified_at = coalesce(users.email_verified_at, now())",
        identifier,
        email.as_str(),
        hash,
    )
    .execute(pool)
    .await?;
    Ok(())
}

fn rand_index(n: usize) -> usize {
    use rand::Rng;
    rand::thread_rng().gen_range(0..n)
}

pub(crate) fn hash(password: &str) -> Result<String, BoxError> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let params = argon2::Params::new(19_456, 2, 1, None).map_err(|e| e.to_string())?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    Ok(
        a.hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .map_err(|e| e.to_string())?
            .to_string(),
    )
}

pub const DEMO_PASSWORD: &str = "demonstration-habilitations";
pub const DEMO_MANAGER: &str = "marie.gestionnaire@demo.habilitations.fr";
pub const DEMO_AGENT: &str = "paul.agent@demo.habilitations.fr";

/// Demo data, loaded once: a manager of AFDAS holding SOFFi Administrateur,
/// an agent asking for SOFFi Consultation.
pub async fn demo(pool: &PgPool) -> Result<bool, BoxError> {
    let exists = sqlx::query_scalar!("select id from users where email = $1", DEMO_MANAGER)
        .fetch_optional(pool)
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    let h = hash(DEMO_PASSWORD)?;
    let mut tx = pool.begin().await?;
    let mut ids = vec![];
    for (civ, nom, prenom, email) in [
        ("Mme", "Gestionnaire", "Marie", DEMO_MANAGER),
        ("M", "Agent", "Paul", DEMO_AGENT),
    ] {
        let id = sqlx::query_scalar!(
            "insert into users (identifier, civilite, nom, prenom, email, email_verified_at, password_hash, telephone)
             values ($1, $2, $3, $4, $5, now(), $6, '0123456789') returning id",
            app::domain::UserIdentifier::generate(rand_index).as_str().to_string(),
            civ,
            nom,
            prenom,
            email,
            &h,
        )
        .fetch_one(&mut *tx)
        .await?;
        ids.push(id);
    }
    let org = sqlx::query_scalar!(
        "insert into organisations (siret, nom, adresse, created_by)
         select siret, denomination, adresse || ', ' || code_postal || ' ' || commune, $1
           from sirene_etablissements where siret = '78471400800165' returning id",
        ids[0],
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into memberships (user_id, organisation_id, admin_role) values ($1, $2, 'primary_manager'), ($3, $2, null)",
        ids[0],
        org,
        ids[1],
    )
        .execute(&mut *tx)
        .await?;
    // More agents of the structure, created by its manager: the Liste des
    // agents shows accented names in French order (Écuyer between Abadie
    // and Zimmermann).
    for (civ, nom, prenom, email) in [
        (
            "Mme",
            "Zimmermann",
            "Zoé",
            "zoe.zimmermann@demo.habilitations.fr",
        ),
        (
            "Mme",
            "Écuyer",
            "Élodie",
            "elodie.ecuyer@demo.habilitations.fr",
        ),
        ("M", "Abadie", "Aline", "aline.abadie@demo.habilitations.fr"),
    ] {
        sqlx::query!(
            "with u as (
                 insert into users (identifier, civilite, nom, prenom, email, email_verified_at, password_hash,
                                    created_by, home_organisation_id)
                 values ($1, $2, $3, $4, $5, now(), $6, $7, $8) returning id)
             insert into memberships (user_id, organisation_id) select id, $8 from u",
            app::domain::UserIdentifier::generate(rand_index).as_str().to_string(),
            civ,
            nom,
            prenom,
            email,
            &h,
            ids[0],
            org,
        )
        .execute(&mut *tx)
        .await?;
    }
    // The demo structure has signed a convention for Parapheur and
    // Mon activité formation too (SOFFi is activated by default).
    sqlx::query!(
        "with c as (
             insert into conventions (organisation_id, libelle) values ($1, 'Convention dématérialisation 2026')
             returning id)
         insert into convention_roles (convention_id, application_id, role_id)
         select c.id, r.application_id, r.id from c, roles r join applications a on a.id = r.application_id
          where a.code in ('parapheur', 'mon-activite-formation')",
        org,
    )
    .execute(&mut *tx)
    .await?;
    // Delegated administration at a glance: three user groups, one of
    // them a subgroup, each with its responsable habilitations, their
    // rights within the conventions and a few members.
    sqlx::query!(
        "with c as (select id, libelle from conventions where organisation_id = $1),
              who as (select id, email from users),
              g1 as (
                  insert into user_groups (organisation_id, convention_id, code, libelle, responsable_id)
                  select $1, c.id, 'SOFFI-DEC', 'Déclarants SOFFi', who.id from c, who
                   where c.libelle = 'Services activés par défaut' and who.email = 'elodie.ecuyer@demo.habilitations.fr'
                  returning id),
              g2 as (
                  insert into user_groups (organisation_id, convention_id, code, libelle, responsable_id)
                  select $1, c.id, 'PARAPHEUR', 'Circuits de signature', who.id from c, who
                   where c.libelle = 'Convention dématérialisation 2026' and who.email = 'zoe.zimmermann@demo.habilitations.fr'
                  returning id, convention_id)
         insert into group_grants (group_id, role_id)
         select g1.id, r.id from g1, roles r join applications a on a.id = r.application_id
          where a.code = 'soffi' and r.code = 'saisie'
         union all
         select g2.id, r.id from g2, roles r join applications a on a.id = r.application_id
          where a.code = 'parapheur'",
        org,
    )
    .execute(&mut *tx)
    .await?;
    // The subgroup, within its parent's convention and rights.
    sqlx::query!(
        "with p as (select id, convention_id from user_groups where organisation_id = $1 and code = 'PARAPHEUR'),
              s as (
                  insert into user_groups (organisation_id, convention_id, code, libelle, parent_id, responsable_id)
                  select $1, p.convention_id, 'PARAPHEUR-SIG', 'Signataires délégués', p.id, u.id
                    from p, users u where u.email = 'aline.abadie@demo.habilitations.fr'
                  returning id)
         insert into group_grants (group_id, role_id)
         select s.id, r.id from s, roles r join applications a on a.id = r.application_id
          where a.code = 'parapheur' and r.code = 'utilisateur'",
        org,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into group_memberships (group_id, organisation_id, user_id)
         select g.id, $1, u.id from (values
                ('SOFFI-DEC', $2), ('SOFFI-DEC', 'aline.abadie@demo.habilitations.fr'),
                ('PARAPHEUR', 'elodie.ecuyer@demo.habilitations.fr'),
                ('PARAPHEUR-SIG', $2)) as m (code, email)
           join user_groups g on g.organisation_id = $1 and g.code = m.code
           join users u on u.email = m.email",
        org,
        DEMO_AGENT,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into grants (role_id, organisation_id, user_id, granted_by)
         select r.id, $1, $2, null from roles r join applications a on a.id = r.application_id
          where a.code = 'soffi' and r.code = 'administrateur'",
        org,
        ids[0],
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into access_requests (requester_id, organisation_id, role_id, message)
         select $2, $1, r.id, 'Je dois consulter les dossiers de formation.' from roles r
           join applications a on a.id = r.application_id where a.code = 'soffi' and r.code = 'consultation'",
        org,
        ids[1],
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}
