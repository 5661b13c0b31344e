//! `server generate`: a deterministic dataset for the benchmark (same seed,
//! same PostgreSQL → same data). Everything is set-based SQL on one
//! connection: pseudo-random values are md5 hashes of (seed, column, row
//! number), never `random()`. Rows go through the normal tables, so every
//! constraint and trigger of the schema applies (identifier format, one
//! primary manager, at most 2 organisation admins, the journal's chain).
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use std::time::Instant;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What to generate; `server generate --users N --organisations N ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub users: i64,
    pub organisations: i64,
    pub grants: i64,
    pub events: i64,
    /// User groups (a tenth in the big organisation; a quarter at
    /// niveau 2 and a quarter at niveau 3).
    pub groups: i64,
    /// Dated group memberships.
    pub group_memberships: i64,
    /// Agents of the benchmark organisation (the first one).
    pub big_org: i64,
    pub seed: i64,
    pub email: String,
    pub operator_email: String,
    pub password: String,
}

pub const BENCH_EMAIL: &str = "claire.banc@bench.habilitations.test";
pub const BENCH_OPERATOR: &str = "operateur@bench.habilitations.test";
pub const BENCH_PASSWORD: &str = "banc-d-essai-habilitations";

impl Params {
    pub fn from_args(args: &[String]) -> Result<Self, BoxError> {
        let mut p = Params {
            users: 1_000_000,
            organisations: 100_000,
            grants: 2_000_000,
            events: 1_000_000,
            groups: 200_000,
            group_memberships: 3_000_000,
            big_org: 60_000,
            seed: 42,
            email: BENCH_EMAIL.into(),
            operator_email: BENCH_OPERATOR.into(),
            password: BENCH_PASSWORD.into(),
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| format!("valeur manquante après {flag}"))?;
            let num = || -> Result<i64, BoxError> {
                let n: i64 = value
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("{flag} : nombre attendu, reçu « {value} »"))?;
                if n < 0 {
                    return Err(format!("{flag} : nombre positif attendu").into());
                }
                Ok(n)
            };
            match flag.as_str() {
                "--users" => p.users = num()?,
                "--organisations" => p.organisations = num()?,
                "--grants" => p.grants = num()?,
                "--events" => p.events = num()?,
                "--groups" => p.groups = num()?,
                "--group-memberships" => p.group_memberships = num()?,
                "--big-org" => p.big_org = num()?,
                "--seed" => p.seed = num()?,
                "--email" => p.email = value.to_lowercase(),
                "--operator-email" => p.operator_email = value.to_lowercase(),
                "--password" => p.password = value.clone(),
                _ => return Err(format!("option inconnue : {flag}").into()),
            }
        }
        if p.organisations < 2 || p.big_org < 1 {
            return Err("--organisations : au moins 2 ; --big-org : au moins 1".into());
        }
        // Orgs 2..M each get one primary manager of their own.
        if p.users < p.big_org + p.organisations - 1 {
            return Err(format!(
                "--users doit valoir au moins --big-org + --organisations - 1 = {}",
                p.big_org + p.organisations - 1
            )
            .into());
        }
        app::domain::Email::parse(&p.email)?;
        app::domain::Email::parse(&p.operator_email)?;
        app::domain::Password::parse(&p.password)?;
        Ok(p)
    }

    /// The parameters as stored in the database's comment: a run with the
    /// same ones has nothing to do.
    pub fn marker(&self) -> String {
        format!(
            "{} groups={} group-memberships={}",
            self.marker_without_groups(),
            self.groups,
            self.group_memberships
        )
    }

    /// The marker of a dataset generated before user groups existed: the
    /// groups are added to it instead of generating everything again.
    fn marker_without_groups(&self) -> String {
        format!(
            "habilitations-bench users={} organisations={} grants={} events={} big-org={} seed={} email={} operator={}",
            self.users, self.organisations, self.grants, self.events, self.big_org, self.seed,
            self.email, self.operator_email
        )
    }
}

/// Most frequent French surnames (INSEE), most frequent first.
const NOMS: &[&str] = &[
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Marie",
    "Lemaire",
    "Noël",
    "Meyer",
    "Dufour",
    "Meunier",
    "Brun",
    "Blanchard",
    "Giraud",
    "Joly",
    "Rivière",
    "Lucas",
    "Brunet",
    "Gaillard",
    "Barbier",
    "Arnaud",
    "Martinez",
    "Gérard",
    "Roche",
    "Renard",
    "Schmitt",
    "Roy",
    "Leroux",
    "Colin",
    "Vidal",
    "Caron",
    "Picard",
    "Roger",
    "Fabre",
    "Aubert",
    "Lemoine",
    "Renaud",
    "Dumas",
    "Lacroix",
    "Olivier",
    "Philippe",
    "Bourgeois",
    "Pierre",
    "Benoît",
    "Rey",
    "Leclerc",
    "Payet",
    "Rolland",
    "Leclercq",
    "Guillaume",
    "Lecomte",
    "Lopez",
    "Jean",
    "Dupuy",
    "Guillot",
    "Hubert",
    "Berger",
    "Carpentier",
    "Sanchez",
    "Dupuis",
    "Moulin",
    "Louis",
    "Deschamps",
    "Huet",
    "Vasseur",
    "Perez",
    "Boucher",
    "Fleury",
    "Royer",
    "Klein",
    "Jacquet",
    "Adam",
    "Paris",
    "Poirier",
    "Marty",
    "Aubry",
    "Guyot",
    "Carré",
    "Charles",
    "Renault",
    "Charpentier",
    "Ménard",
    "Maillard",
    "Baron",
    "Bertin",
    "Bailly",
    "Hervé",
    "Schneider",
    "Fernandez",
    "Le Gall",
    "Collet",
    "Léger",
    "Bouvier",
    "Julien",
    "Prévost",
    "Millet",
    "Perrot",
    "Daniel",
    "Le Roux",
    "Cousin",
    "Germain",
    "Breton",
    "Besson",
    "Langlois",
    "Rémy",
    "Le Goff",
    "Pelletier",
    "Lévêque",
    "Perrier",
    "Leblanc",
    "Barré",
    "Lebrun",
    "Marchal",
    "Weber",
    "Mallet",
    "Hamon",
    "Boulanger",
    "Jacob",
    "Monnier",
    "Michaud",
    "Rodriguez",
    "Guichard",
    "Gillet",
    "Étienne",
    "Grondin",
    "Poulain",
    "Tessier",
    "Chevallier",
    "Collin",
    "Chauvin",
    "Da Silva",
    "Bouchet",
    "Gay",
    "Lemaître",
    "Bénard",
    "Maréchal",
    "Humbert",
    "Reynaud",
    "Antoine",
    "Hoarau",
    "Perret",
    "Barthélemy",
    "Cordier",
    "Pichon",
    "Lejeune",
    "Gilbert",
    "Lamy",
    "Delaunay",
    "Pasquier",
    "Carlier",
    "Laporte",
    "N'Diaye",
    "Diallo",
    "Nguyen",
    "Benali",
    "Haddad",
    "Traoré",
    "Kowalski",
];

/// Common prénoms with the civilité that goes with them.
const PRENOMS: &[(&str, &str)] = &[
    ("Marie", "Mme"),
    ("Jean", "M"),
    ("Pierre", "M"),
    ("Michel", "M"),
    ("André", "M"),
    ("Philippe", "M"),
    ("Nathalie", "Mme"),
    ("Isabelle", "Mme"),
    ("Sylvie", "Mme"),
    ("Catherine", "Mme"),
    ("Françoise", "Mme"),
    ("Martine", "Mme"),
    ("Christine", "Mme"),
    ("Monique", "Mme"),
    ("Nicolas", "M"),
    ("Christophe", "M"),
    ("Stéphane", "M"),
    ("Sophie", "Mme"),
    ("Valérie", "Mme"),
    ("Sandrine", "Mme"),
    ("Céline", "Mme"),
    ("Julie", "Mme"),
    ("Camille", "Mme"),
    ("Léa", "Mme"),
    ("Manon", "Mme"),
    ("Chloé", "Mme"),
    ("Emma", "Mme"),
    ("Inès", "Mme"),
    ("Sarah", "Mme"),
    ("Laura", "Mme"),
    ("Thomas", "M"),
    ("Julien", "M"),
    ("Alexandre", "M"),
    ("Antoine", "M"),
    ("Maxime", "M"),
    ("Lucas", "M"),
    ("Hugo", "M"),
    ("Louis", "M"),
    ("Gabriel", "M"),
    ("Arthur", "M"),
    ("Jules", "M"),
    ("Paul", "M"),
    ("Léo", "M"),
    ("Raphaël", "M"),
    ("Nathan", "M"),
    ("Théo", "M"),
    ("Mathieu", "M"),
    ("Sébastien", "M"),
    ("Frédéric", "M"),
    ("Laurent", "M"),
    ("David", "M"),
    ("Olivier", "M"),
    ("Éric", "M"),
    ("Patrick", "M"),
    ("Alain", "M"),
    ("Bernard", "M"),
    ("Daniel", "M"),
    ("Jacques", "M"),
    ("Gérard", "M"),
    ("Christian", "M"),
    ("Claude", "M"),
    ("René", "M"),
    ("Yves", "M"),
    ("Pascal", "M"),
    ("Thierry", "M"),
    ("Bruno", "M"),
    ("Didier", "M"),
    ("Vincent", "M"),
    ("Franck", "M"),
    ("Cédric", "M"),
    ("Guillaume", "M"),
    ("Romain", "M"),
    ("Kévin", "M"),
    ("Anthony", "M"),
    ("Jérôme", "M"),
    ("Fabrice", "M"),
    ("Aurélie", "Mme"),
    ("Émilie", "Mme"),
    ("Élodie", "Mme"),
    ("Stéphanie", "Mme"),
    ("Caroline", "Mme"),
    ("Virginie", "Mme"),
    ("Audrey", "Mme"),
    ("Mélanie", "Mme"),
    ("Laetitia", "Mme"),
    ("Delphine", "Mme"),
    ("Véronique", "Mme"),
    ("Anne", "Mme"),
    ("Hélène", "Mme"),
    ("Brigitte", "Mme"),
    ("Jacqueline", "Mme"),
    ("Nicole", "Mme"),
    ("Chantal", "Mme"),
    ("Danielle", "Mme"),
    ("Sylvain", "M"),
    ("Grégory", "M"),
    ("Benoît", "M"),
    ("Noémie", "Mme"),
    ("Océane", "Mme"),
    ("Clara", "Mme"),
    ("Jade", "Mme"),
    ("Louise", "Mme"),
    ("Alice", "Mme"),
    ("Lina", "Mme"),
    ("Zoé", "Mme"),
    ("Agathe", "Mme"),
    ("Margaux", "Mme"),
    ("Pauline", "Mme"),
    ("Marion", "Mme"),
    ("Lucie", "Mme"),
    ("Charlotte", "Mme"),
    ("Mathilde", "Mme"),
    ("Élise", "Mme"),
    ("Anaïs", "Mme"),
    ("Justine", "Mme"),
    ("Karima", "Mme"),
    ("Mohamed", "M"),
    ("Yacine", "M"),
    ("Fatima", "Mme"),
    ("Nadia", "Mme"),
    ("Samir", "M"),
    ("Karim", "M"),
    ("Mehdi", "M"),
    ("Sofiane", "M"),
    ("Amina", "Mme"),
    ("Jean-Pierre", "M"),
    ("Jean-Luc", "M"),
    ("Marie-Claire", "Mme"),
    ("Anne-Sophie", "Mme"),
];

/// (commune, code postal)
const COMMUNES: &[(&str, &str)] = &[
    ("Paris", "75015"),
    ("Marseille", "13001"),
    ("Lyon", "69003"),
    ("Toulouse", "31000"),
    ("Nice", "06000"),
    ("Nantes", "44000"),
    ("Montpellier", "34000"),
    ("Strasbourg", "67000"),
    ("Bordeaux", "33000"),
    ("Lille", "59000"),
    ("Rennes", "35000"),
    ("Reims", "51100"),
    ("Toulon", "83000"),
    ("Saint-Étienne", "42000"),
    ("Le Havre", "76600"),
    ("Grenoble", "38000"),
    ("Dijon", "21000"),
    ("Angers", "49000"),
    ("Nîmes", "30000"),
    ("Villeurbanne", "69100"),
    ("Clermont-Ferrand", "63000"),
    ("Le Mans", "72000"),
    ("Aix-en-Provence", "13100"),
    ("Brest", "29200"),
    ("Tours", "37000"),
    ("Amiens", "80000"),
    ("Limoges", "87000"),
    ("Annecy", "74000"),
    ("Perpignan", "66000"),
    ("Metz", "57000"),
    ("Besançon", "25000"),
    ("Orléans", "45000"),
    ("Rouen", "76000"),
    ("Mulhouse", "68100"),
    ("Caen", "14000"),
    ("Nancy", "54000"),
    ("Argenteuil", "95100"),
    ("Saint-Denis", "93200"),
    ("Montreuil", "93100"),
    ("Roubaix", "59100"),
    ("Tourcoing", "59200"),
    ("Avignon", "84000"),
    ("Poitiers", "86000"),
    ("Pau", "64000"),
    ("La Rochelle", "17000"),
    ("Calais", "62100"),
    ("Cannes", "06400"),
    ("Béziers", "34500"),
    ("Colmar", "68000"),
    ("Bourges", "18000"),
    ("Quimper", "29000"),
    ("Valence", "26000"),
    ("Troyes", "10000"),
    ("Chambéry", "73000"),
    ("Niort", "79000"),
    ("Lorient", "56100"),
    ("Vannes", "56000"),
    ("Saint-Malo", "35400"),
    ("Ajaccio", "20000"),
    ("Bastia", "20200"),
    ("Cayenne", "97300"),
    ("Saint-Pierre", "97410"),
    ("Laval", "53000"),
    ("Albi", "81000"),
    ("Auxerre", "89000"),
    ("Belfort", "90000"),
    ("Blois", "41000"),
    ("Évreux", "27000"),
    ("Charleville-Mézières", "08000"),
    ("Périgueux", "24000"),
    ("Agen", "47000"),
    ("Rodez", "12000"),
    ("Cahors", "46000"),
    ("Tarbes", "65000"),
    ("Mâcon", "71000"),
    ("Nevers", "58000"),
    ("Vesoul", "70000"),
    ("Épinal", "88000"),
    ("Gap", "05000"),
    ("Digne-les-Bains", "04000"),
    ("Privas", "07000"),
    ("Mende", "48000"),
    ("Aurillac", "15000"),
    ("Le Puy-en-Velay", "43000"),
    ("Guéret", "23000"),
    ("Tulle", "19000"),
    ("Châteauroux", "36000"),
    ("Moulins", "03000"),
    ("Bar-le-Duc", "55000"),
    ("Chaumont", "52000"),
    ("Lons-le-Saunier", "39000"),
    ("Bourg-en-Bresse", "01000"),
    ("Foix", "09000"),
    ("Auch", "32000"),
    ("Mont-de-Marsan", "40000"),
    ("Carcassonne", "11000"),
    ("Montauban", "82000"),
];

/// Organisation names: `{c}` is a commune, `{n}` a surname.
const ORG_TEMPLATES: &[&str] = &[
    "Mairie de {c}",
    "Centre communal d'action sociale de {c}",
    "Communauté de communes du pays de {c}",
    "Syndicat intercommunal des eaux de {c}",
    "Office de tourisme de {c}",
    "Caisse des écoles de {c}",
    "Association sportive de {c}",
    "Maison de santé pluridisciplinaire de {c}",
    "EHPAD Les Tilleuls de {c}",
    "Lycée professionnel de {c}",
    "Organisme de formation {n} Conseil",
    "SARL {n} et Associés",
    "SAS {n} Formation",
    "Cabinet {n}",
    "Association Familles rurales de {c}",
    "Mission locale de {c}",
];

const VOIES: &[&str] = &[
    "rue de la République",
    "avenue Victor Hugo",
    "boulevard Jean Jaurès",
    "rue de la Gare",
    "avenue du Général de Gaulle",
    "rue Pasteur",
    "rue des Écoles",
    "place de l'Église",
    "rue Gambetta",
    "rue Jules Ferry",
    "chemin du Moulin",
    "place de la Mairie",
    "allée des Lilas",
    "rue Carnot",
    "boulevard Voltaire",
    "impasse des Tilleuls",
];

const UNITS: &[&str] = &[
    "Direction générale des services",
    "Ressources humaines",
    "Finances",
    "Action sociale",
    "Urbanisme",
    "État civil",
    "Systèmes d'information",
    "Comptabilité",
    "Accueil",
    "Affaires scolaires",
    "Services techniques",
    "Culture",
    "Sports",
    "Enfance et jeunesse",
    "Solidarités",
    "Marchés publics",
    "Communication",
    "Environnement",
    "Voirie",
    "Archives",
];

const DOMAINS: &[&str] = &[
    "mairie.test",
    "agglo.test",
    "departement.test",
    "caf.test",
    "asso.test",
    "formation.test",
    "sante.test",
    "courriel.test",
];

/// (action, target type) of the generated journal: codes the application
/// records, so that the journal names them.
const ACTIONS: &[(&str, &str)] = &[
    ("habilitation.attribution", "habilitation"),
    ("habilitation.attribution", "habilitation"),
    ("habilitation.retrait", "habilitation"),
    ("utilisateur.creation", "utilisateur"),
    ("utilisateur.modification", "utilisateur"),
    ("utilisateur.cloture", "utilisateur"),
    ("rattachement.creation", "utilisateur"),
    ("rattachement.detachement", "utilisateur"),
    ("utilisateur.renvoi_identifiant", "utilisateur"),
    ("compte.activation", "utilisateur"),
];

/// Lower-case ASCII form of a name, for email addresses.
fn ascii(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            Some(match c {
                'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
                'ç' | 'Ç' => 'c',
                'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
                'î' | 'ï' => 'i',
                'ô' | 'ö' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                ' ' => '-',
                '\'' => return None,
                c => c.to_ascii_lowercase(),
            })
        })
        .collect()
}

/// Generates the dataset, or does nothing when the database already holds
/// the one these parameters describe.
pub async fn run(pool: &PgPool, p: &Params) -> Result<(), BoxError> {
    let marker = p.marker();
    let comment = sqlx::query_scalar!(
        r#"select shobj_description(oid, 'pg_database') as "comment?" from pg_database where datname = current_database()"#,
    )
    .fetch_one(pool)
    .await?;
    match comment {
        Some(c) if c == marker => {
            println!("jeu de données déjà généré ({marker}) : rien à faire");
            print_logins(p);
            return Ok(());
        }
        Some(c) if c == p.marker_without_groups() => {
            println!("jeu de données sans groupes d'utilisateurs : ajout des groupes");
            let options = (*pool.connect_options())
                .clone()
                .disable_statement_logging();
            let mut conn = PgConnection::connect_with(&options).await?;
            sqlx::raw_sql("set jit = off").execute(&mut conn).await?;
            let total = Instant::now();
            let mut tx = conn.begin().await?;
            let mut all = steps(p);
            all.truncate(1); // the hash functions
            all.extend(group_steps(p));
            run_steps(&mut tx, all).await?;
            tx.commit().await?;
            finish(&mut conn, p, total).await?;
            return Ok(());
        }
        Some(c) if c.starts_with("habilitations-bench") => {
            return Err(format!(
                "cette base contient déjà un autre jeu de données ({c}) : recréez-la"
            )
            .into());
        }
        _ => {}
    }
    // One connection (temporary functions and tables live in it), without
    // the slow-statement log: every statement here is slow on purpose.
    let options = (*pool.connect_options())
        .clone()
        .disable_statement_logging();
    let mut conn = PgConnection::connect_with(&options).await?;
    // Compiling these one-off statements costs more than it saves.
    sqlx::raw_sql("set jit = off").execute(&mut conn).await?;
    let total = Instant::now();
    let password_hash = crate::seed::hash(&p.password)?;
    let mut tx = conn.begin().await?;
    load_lists(&mut tx).await?;
    run_steps(&mut tx, steps(p)).await?;
    let t = Instant::now();
    special_users(&mut tx, p, &password_hash).await?;
    println!("{:<40} {:>7.1} s", "comptes du banc d'essai", secs(t));
    tx.commit().await?;
    // The journal in batches, through its chain trigger, one transaction
    // each: progress shows and a failure keeps what was chained.
    let t = Instant::now();
    let batch = 100_000;
    let mut done = 0;
    while done < p.events {
        let n = batch.min(p.events - done);
        sqlx::raw_sql(&events_sql(p, done + 1, done + n))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("journal : {e}"))?;
        done += n;
        println!(
            "{:<40} {:>7.1} s  ({done} événements)",
            "journal (chaîné par son déclencheur)",
            secs(t)
        );
    }
    // The user groups, once the accounts of the benchmark exist.
    let mut tx = conn.begin().await?;
    // The hash functions and gen_base (the id offsets from before the
    // generation) live on in this session: the groups' steps use them as
    // they are.
    run_steps(&mut tx, group_steps(p)).await?;
    tx.commit().await?;
    finish(&mut conn, p, total).await
}

async fn run_steps(
    tx: &mut PgConnection,
    steps: Vec<(&'static str, String)>,
) -> Result<(), BoxError> {
    for (label, sql) in steps {
        let t = Instant::now();
        sqlx::raw_sql(&sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("{label} : {e}"))?;
        println!("{label:<40} {:>7.1} s", secs(t));
    }
    Ok(())
}

/// Statistics, the marker, the sizes and the logins.
async fn finish(conn: &mut PgConnection, p: &Params, total: Instant) -> Result<(), BoxError> {
    let marker = p.marker();
    let t = Instant::now();
    sqlx::raw_sql(
        "vacuum (analyze) users, organisations, units, memberships, grants, audit_events,
                          conventions, convention_roles, user_groups, group_grants, group_memberships",
    )
    .execute(&mut *conn)
    .await?;
    println!("{:<40} {:>7.1} s", "vacuum analyze", secs(t));
    sqlx::raw_sql(&format!(
        "do $$ begin execute format('comment on database %I is %L', current_database(), '{}'); end $$",
        marker.replace('\'', "''")
    ))
    .execute(&mut *conn)
    .await?;
    println!("jeu de données généré en {:.1} s ({marker})", secs(total));
    print_sizes(&mut *conn).await?;
    print_logins(p);
    Ok(())
}

/// User groups on the generated structures, through the tables only (so
/// that they can be added to a dataset made before groups existed): `G`
/// groups, a tenth in the biggest structure and the others spread over the
/// rest; numbered n = 1, 2… in each structure, groups 4q+2 and 4q+3 are the
/// subgroup and sub-subgroup of 4q+1 (niveaux 2 and 3); each responsable is
/// an agent of the structure. A block's top group holds two roles of the
/// structure's convention, its subgroups one of those. `M` dated
/// memberships (a tenth of them closed) of agents of the group's structure,
/// two in five in the big structure's groups.
/// Every row goes through the triggers (ceiling, parent, reach).
fn group_steps(p: &Params) -> Vec<(&'static str, String)> {
    let (g, m) = (p.groups, p.group_memberships);
    let anchor = "date '2026-01-01'";
    let level = |lvl: i32| {
        format!(
            "insert into user_groups (organisation_id, convention_id, code, libelle, parent_id, date_ouverture,
                                      responsable_id, created_at)
             select g.org_id, g.conv, 'G' || g.n, 'Groupe ' || g.n,
                    (select p.id from user_groups p where p.organisation_id = g.org_id and upper(p.code) = 'G' || (g.n - 1)),
                    {anchor} - 1500, om.user_id, {anchor} - 1500 + time '08:00'
               from gen_g g join gen_om om on om.org_id = g.org_id and om.idx = pg_temp.rnd('responsable', g.j) % g.members
              where g.lvl = {lvl}
              order by g.org_id, g.n;
             insert into group_grants (group_id, role_id, date_ouverture)
             select distinct ug.id, gr.role_id, {anchor} - 1500
               from gen_g g
               join user_groups ug on ug.organisation_id = g.org_id and upper(ug.code) = 'G' || g.n
               join gen_grn nr on nr.org_id = g.org_id
               cross join generate_series(0, case when g.lvl = 1 then 1 else 0 end) s
               join gen_gr gr on gr.org_id = g.org_id
                    and gr.idx = (pg_temp.rnd('role-groupe', g.org_id * 1000003 + g.top) + s) % nr.n
              where g.lvl = {lvl}"
        )
    };
    vec![
        (
            "groupes : structures et agents",
            "create temp table gen_om as
                 select m.organisation_id as org_id, m.user_id,
                        row_number() over (partition by m.organisation_id order by m.user_id) - 1 as idx
                   from memberships m join users u on u.id = m.user_id
                  where u.date_cloture is null or u.date_cloture > current_date;
             create index on gen_om (org_id, idx);
             create temp table gen_on as
                 select om.org_id, count(*) as n, row_number() over (order by count(*) desc, om.org_id) as k,
                        (select min(c.id) from conventions c where c.organisation_id = om.org_id
                            and (c.date_cloture is null or c.date_cloture > current_date)) as conv
                   from gen_om om group by om.org_id;
             delete from gen_on where conv is null;
             create index on gen_on (k);
             -- Each structure's convention roles, numbered 0..n-1.
             create temp table gen_gr as
                 select o.org_id, cr.role_id, (row_number() over (partition by o.org_id order by cr.role_id) - 1)::int as idx
                   from gen_on o join convention_roles cr on cr.convention_id = o.conv
                  where cr.date_cloture is null or cr.date_cloture > current_date;
             create index on gen_gr (org_id, idx);
             create temp table gen_grn as select org_id, count(*)::int as n from gen_gr group by org_id;
             create index on gen_grn (org_id);
             analyze gen_om, gen_on, gen_gr, gen_grn"
                .to_string(),
        ),
        (
            "groupes : plan",
            format!(
                "create temp table gen_g as
                     select x.j, o.org_id, o.conv, o.n as members,
                            row_number() over (partition by o.org_id order by x.j) as n
                       from (select j, case when j <= greatest({g} / 10, 1) then 1
                                            else 2 + j % greatest((select count(*) from gen_on) - 1, 1) end as k
                               from generate_series(1::bigint, {g}) j) x
                       join gen_on o on o.k = x.k
                      where exists (select 1 from gen_grn r where r.org_id = o.org_id);
                 alter table gen_g add column lvl int, add column top bigint;
                 update gen_g set lvl = case (n - 1) % 4 when 1 then 2 when 2 then 3 else 1 end,
                                  top = case when (n - 1) % 4 in (1, 2) then n - (n - 1) % 4 else n end;
                 create index on gen_g (j);
                 create index on gen_g (lvl);
                 analyze gen_g"
            ),
        ),
        ("groupes de niveau 1 et leurs rôles", level(1)),
        ("sous-groupes (niveau 2) et leurs rôles", level(2)),
        ("sous-groupes (niveau 3) et leurs rôles", level(3)),
        (
            "appartenances aux groupes",
            format!(
                "create temp table gen_gid as
                     select g.j, ug.id as group_id, g.org_id, g.members
                       from gen_g g join user_groups ug on ug.organisation_id = g.org_id and upper(ug.code) = 'G' || g.n;
                 create index on gen_gid (j);
                 analyze gen_gid;
                 insert into group_memberships (group_id, organisation_id, user_id, date_ouverture, date_cloture, created_at)
                 select group_id, org_id, user_id, d,
                        case when pg_temp.rnd('appartenance-close', k) % 10 = 0 then d + 1 + (pg_temp.rnd('duree-appartenance', k) % 300)::int end,
                        d + time '09:00'
                   from (select distinct on (gi.group_id, om.user_id) gi.group_id, gi.org_id, om.user_id, k,
                                {anchor} - (pg_temp.rnd('debut-appartenance', k) % 1000)::int as d
                           from generate_series(1::bigint, {m} * 2) k
                           -- Two in five in the big structure's groups (the
                           -- first tenth): the small ones' few agents could not
                           -- fill their groups with distinct people.
                           join gen_gid gi on gi.j = 1 + pg_temp.rnd('groupe-appartenance', k)
                                % case when pg_temp.rnd('grande-structure', k) % 5 < 2 then greatest({g} / 10, 1)
                                       else (select max(j) from gen_gid) end
                           join gen_om om on om.org_id = gi.org_id and om.idx = pg_temp.rnd('membre', k) % gi.members
                          order by gi.group_id, om.user_id, k) x
                  order by group_id, user_id
                  limit {m}"
            ),
        ),
    ]
}

/// Row counts and the size of the database.
pub async fn print_sizes(conn: &mut PgConnection) -> Result<(), BoxError> {
    let (users, orgs, units, memberships, grants, events, biggest, size): (
        i64, i64, i64, i64, i64, i64, i64, String,
    ) = sqlx::query!(
        r#"select (select count(*) from users) as "users!", (select count(*) from organisations) as "orgs!",
                (select count(*) from units) as "units!", (select count(*) from memberships) as "memberships!",
                (select count(*) from grants) as "grants!", (select count(*) from audit_events) as "events!",
                coalesce((select count(*) from memberships group by organisation_id order by 1 desc limit 1), 0) as "biggest!",
                pg_size_pretty(pg_database_size(current_database())) as "size!""#,
    )
    .fetch_one(&mut *conn)
    .await
    .map(|r| (r.users, r.orgs, r.units, r.memberships, r.grants, r.events, r.biggest, r.size))?;
    let (groups, deepest, group_memberships, group_grants): (i64, Option<i32>, i64, i64) = sqlx::query!(
        r#"select (select count(*) from user_groups) as "groups!", (select max(niveau) from user_groups) as "deepest?",
                (select count(*) from group_memberships) as "members!", (select count(*) from group_grants) as "rights!""#,
    )
    .fetch_one(&mut *conn)
    .await
    .map(|r| (r.groups, r.deepest, r.members, r.rights))?;
    println!(
        "{users} utilisateurs, {orgs} structures, {units} unités, {memberships} rattachements \
         (le plus grand : {biggest} agents), {grants} habilitations, {events} événements du journal, \
         {groups} groupes (jusqu'au niveau {}), {group_grants} droits de groupes, \
         {group_memberships} appartenances ; base : {size}",
        deepest.unwrap_or(0)
    );
    Ok(())
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn print_logins(p: &Params) {
    println!(
        "gestionnaire principal de la grande structure : {} / {}",
        p.email, p.password
    );
    println!("opérateur : {} / {}", p.operator_email, p.password);
}

/// The word lists, as temporary tables keyed 0..n-1.
async fn load_lists(conn: &mut PgConnection) -> Result<(), BoxError> {
    let col = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let lists: Vec<(&str, Vec<Vec<String>>)> = vec![
        (
            "gen_nom(nom, ascii)",
            vec![col(NOMS), NOMS.iter().map(|s| ascii(s)).collect()],
        ),
        (
            "gen_prenom(prenom, civilite, ascii)",
            vec![
                PRENOMS.iter().map(|p| p.0.to_string()).collect(),
                PRENOMS.iter().map(|p| p.1.to_string()).collect(),
                PRENOMS.iter().map(|p| ascii(p.0)).collect(),
            ],
        ),
        (
            "gen_commune(commune, cp)",
            vec![
                COMMUNES.iter().map(|c| c.0.to_string()).collect(),
                COMMUNES.iter().map(|c| c.1.to_string()).collect(),
            ],
        ),
        ("gen_orgtpl(tpl)", vec![col(ORG_TEMPLATES)]),
        ("gen_voie(voie)", vec![col(VOIES)]),
        ("gen_unit(libelle)", vec![col(UNITS)]),
        ("gen_domain(domain)", vec![col(DOMAINS)]),
        (
            "gen_action(action, target_type)",
            vec![
                ACTIONS.iter().map(|a| a.0.to_string()).collect(),
                ACTIONS.iter().map(|a| a.1.to_string()).collect(),
            ],
        ),
    ];
    for (table, columns) in lists {
        let (name, cols) = table.split_once('(').expect("table(columns)");
        let cols = cols.trim_end_matches(')');
        let params: Vec<String> = (1..=columns.len())
            .map(|i| format!("${i}::text[]"))
            .collect();
        let sql = format!(
            "create temp table {name} as
             select (t.k - 1)::int as k, {cols} from unnest({}) with ordinality as t({cols}, k)",
            params.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for c in columns {
            q = q.bind(c);
        }
        q.execute(&mut *conn).await?;
        sqlx::raw_sql(&format!(
            "alter table {name} add primary key (k); analyze {name}"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The set-based steps, in order. Row numbers are 1-based: user i has id
/// `ub + i`, organisation k has id `ob + k`; organisation 1 is the big one.
fn steps(p: &Params) -> Vec<(&'static str, String)> {
    let (u, o, big, seed) = (p.users, p.organisations, p.big_org, p.seed);
    let nn = NOMS.len();
    let np = PRENOMS.len();
    let nc = COMMUNES.len();
    let nt = ORG_TEMPLATES.len();
    let nv = VOIES.len();
    let nu = UNITS.len();
    let nd = DOMAINS.len();
    // The identifier space: 23^6 letter combinations × 10^4 digit blocks.
    // i ↦ (i × P + offset) mod N is a bijection (P prime to N), so
    // identifiers are unique without any retry.
    const N_IDENT: i64 = 1_480_358_890_000;
    let ident_offset = (seed.wrapping_mul(2_654_435_761) & 0x7fff_ffff) % N_IDENT;
    let siren_offset = (seed.wrapping_mul(40_503) & 0x7fff_ffff) % 100_000_000;
    let anchor = "date '2026-01-01'";
    vec![
        (
            "fonctions de hachage",
            format!(
                "-- 63 pseudo-random bits from (seed, tag, i); inlined by the planner.
                 create function pg_temp.rnd(tag text, i bigint) returns bigint language sql immutable as $$
                     select hashint8extended(i, ({seed}::bigint << 32) + hashtext(tag)) & 9223372036854775807 $$;
                 -- Uniform in [0, 1): 52 bits, exact in a float8.
                 create function pg_temp.unif(tag text, i bigint) returns float8 language sql immutable as $$
                     select (pg_temp.rnd(tag, i) >> 11)::float8 / 4503599627370496.0 $$;
                 create function pg_temp.ident_of(v bigint) returns text language sql immutable as $$
                     select substr('ABCDEFGHJKMNPQRSTUVWXYZ', (v % 23)::int + 1, 1)
                         || substr('ABCDEFGHJKMNPQRSTUVWXYZ', (v / 23 % 23)::int + 1, 1)
                         || substr('ABCDEFGHJKMNPQRSTUVWXYZ', (v / 529 % 23)::int + 1, 1)
                         || lpad((v / 148035889)::text, 4, '0')
                         || substr('ABCDEFGHJKMNPQRSTUVWXYZ', (v / 12167 % 23)::int + 1, 1)
                         || substr('ABCDEFGHJKMNPQRSTUVWXYZ', (v / 279841 % 23)::int + 1, 1)
                         || substr('ABCDEFGHJKMNPQRSTUVWXYZ', (v / 6436343 % 23)::int + 1, 1) $$;
                 create function pg_temp.ident(i bigint) returns text language sql immutable as $$
                     select pg_temp.ident_of((i * 982451653 + {ident_offset}) % {N_IDENT}) $$;
                 -- Appends the Luhn key to a string of digits.
                 create function pg_temp.luhn(s text) returns text language sql immutable as $$
                     select s || ((10 - sum(case when (length(s) - k + 1) % 2 = 1
                                                 then (d * 2) / 10 + (d * 2) % 10 else d end) % 10) % 10)::text
                       from (select k, substr(s, k, 1)::int as d from generate_series(1, length(s)) k) x $$;
                 create temp table gen_base as
                     select coalesce((select max(id) from users), 0) as ub,
                            coalesce((select max(id) from organisations), 0) as ob,
                            coalesce((select max(id) from grants), 0) as gb;
                 analyze gen_base"
            ),
        ),
        (
            "utilisateurs",
            format!(
                "insert into users (id, identifier, civilite, nom, prenom, email, email_verified_at, telephone,
                                    poste, date_ouverture, date_cloture, created_at)
                 overriding system value
                 select b.ub + i, pg_temp.ident(i), p.civilite, n.nom, p.prenom,
                        p.ascii || '.' || n.ascii || '.' || i || '@' || d.domain,
                        case when pg_temp.rnd('verifie', i) % 50 <> 0 then t.ouverture + time '09:00' end,
                        case when pg_temp.rnd('tel', i) % 5 <> 0
                             then '0' || (1 + pg_temp.rnd('tel1', i) % 7) || lpad((pg_temp.rnd('tel2', i) % 100000000)::text, 8, '0') end,
                        case when pg_temp.rnd('poste', i) % 4 = 0 then 'itinerant' else 'sedentaire' end,
                        t.ouverture,
                        case when t.c < 4 then t.ouverture + (pg_temp.rnd('clos', i) % ({anchor} - t.ouverture + 1))::int
                             when t.c < 6 then date '2029-01-01' + (pg_temp.rnd('clos', i) % 730)::int end,
                        t.ouverture + time '08:00'
                   from gen_base b, generate_series(1::bigint, {u}) i
                   cross join lateral (select {anchor} - (pg_temp.rnd('ouverture', i) % 3650)::int as ouverture,
                                              pg_temp.rnd('cloture', i) % 100 as c) t
                   join gen_nom n on n.k = floor({nn} * pow(pg_temp.unif('nom', i), 1.5))::int
                   join gen_prenom p on p.k = pg_temp.rnd('prenom', i) % {np}
                   join gen_domain d on d.k = pg_temp.rnd('domaine', i) % {nd}
                  order by i"
            ),
        ),
        (
            "structures (SIRET valides)",
            format!(
                "insert into organisations (id, siret, nom, adresse, created_at)
                 overriding system value
                 select b.ob + o, pg_temp.luhn(s.siren || lpad((1 + pg_temp.rnd('nic', o) % 80)::text, 4, '0')),
                        case when o = 1 then 'Rectorat de l''académie de Versailles'
                             else replace(replace(t.tpl, '{{c}}', c.commune), '{{n}}', n.nom) end,
                        (1 + pg_temp.rnd('numero', o) % 120) || ' ' || v.voie || ', ' || c.cp || ' ' || c.commune,
                        {anchor} - (pg_temp.rnd('creation', o) % 2000)::int + time '10:00'
                   from gen_base b, generate_series(1::bigint, {o}) o
                   cross join lateral (select pg_temp.luhn(lpad(((o * 61803399 + {siren_offset}) % 100000000)::text, 8, '0')) as siren) s
                   join gen_orgtpl t on t.k = pg_temp.rnd('type', o) % {nt}
                   join gen_commune c on c.k = pg_temp.rnd('commune', o) % {nc}
                   join gen_nom n on n.k = pg_temp.rnd('nom-structure', o) % {nn}
                   join gen_voie v on v.k = pg_temp.rnd('voie', o) % {nv}
                  order by o"
            ),
        ),
        (
            "unités",
            format!(
                "create temp table gen_org_units as
                     select k, case when k = 1 then 40
                                    when pg_temp.rnd('a-des-unites', k) % 10 < 3 then 1 + (pg_temp.rnd('unites', k) % 4)::int
                                    else 0 end as n
                       from generate_series(1::bigint, {o}) k;
                 insert into units (organisation_id, code, libelle, numero_engagement_obligatoire, created_at)
                 select b.ob + g.k, 'SVC-' || lpad(j::text, 2, '0'),
                        l.libelle || case when j > {nu} then ' (site ' || ((j - 1) / {nu} + 1) || ')' else '' end,
                        pg_temp.rnd('engagement', g.k * 100 + j) % 5 = 0, {anchor} + time '11:00'
                   from gen_base b, gen_org_units g, generate_series(1, g.n) j
                   join gen_unit l on l.k = (j - 1) % {nu}
                  order by g.k, j"
            ),
        ),
        (
            "rattachements (calcul)",
            // Users 1..big: the big organisation (1 and 2 its admins);
            // big+1..big+M-1: primary manager of organisations 2..M; the
            // others: a skewed draw (a few large organisations, a long
            // tail); one user in ten also belongs to a second one.
            format!(
                "create temp table gen_m as
                 select distinct on (user_i, org_k) user_i, org_k, role
                   from (select i as user_i,
                                case when i <= {big} then 1
                                     when i <= {big} + {o} - 1 then (i - {big} + 1)::int
                                     else 2 + floor(({o} - 1) * pow(pg_temp.unif('structure', i), 2))::int end as org_k,
                                case when i > {big} and i <= {big} + {o} - 1 then 'primary_manager'
                                     when i <= least(2, {big}) then 'org_admin' end as role, 0 as pass
                           from generate_series(1::bigint, {u}) i
                         union all
                         select i, 2 + (pg_temp.rnd('structure2', i) % ({o} - 1))::int, null, 1
                           from generate_series(1::bigint, {u}) i where pg_temp.rnd('deux-structures', i) % 10 = 0) x
                  order by user_i, org_k, pass;
                 -- Up to two organisation admins in the other organisations.
                 update gen_m m set role = 'org_admin'
                   from (select user_i, org_k, row_number() over (partition by org_k order by user_i) as rn
                           from gen_m where role is null and org_k > 1 and pg_temp.rnd('admin', user_i) % 25 = 0) a
                  where a.user_i = m.user_i and a.org_k = m.org_k and a.rn <= 2"
            ),
        ),
        (
            "rattachements",
            format!(
                "insert into memberships (user_id, organisation_id, admin_role, unit_id, created_at)
                 select b.ub + m.user_i, b.ob + m.org_k, m.role, un.id,
                        {anchor} - (pg_temp.rnd('rattachement', m.user_i * 7 + m.org_k) % 1500)::int + time '12:00'
                   from gen_m m cross join gen_base b
                   join gen_org_units g on g.k = m.org_k
                   left join units un on g.n > 0 and pg_temp.rnd('dans-une-unite', m.user_i) % 10 < 6
                        and un.organisation_id = b.ob + m.org_k
                        and un.code = 'SVC-' || lpad((1 + pg_temp.rnd('unite', m.user_i) % nullif(g.n, 0))::text, 2, '0')
                  order by m.user_i, m.org_k"
            ),
        ),
        (
            "conventions (plafond)",
            // Each organisation came with a convention of the applications
            // activated by default (its trigger); it is dated back before
            // the oldest generated right, and lists each other application
            // for 40 % of the organisations, all of them for the big one,
            // with all their roles.
            format!(
                "insert into conventions (organisation_id, libelle)
                 select b.ob + o, 'Convention de services'
                   from gen_base b cross join generate_series(1::bigint, {o}) o
                  where not exists (select 1 from conventions c where c.organisation_id = b.ob + o);
                 update conventions c set date_ouverture = {anchor} - 2000
                   from gen_base b where c.organisation_id > b.ob;
                 update convention_roles cr set date_ouverture = {anchor} - 2000
                   from gen_base b, conventions c where c.id = cr.convention_id and c.organisation_id > b.ob;
                 insert into convention_roles (convention_id, application_id, role_id, date_ouverture)
                 select c.id, r.application_id, r.id, {anchor} - 2000
                   from gen_base b join conventions c on c.organisation_id > b.ob
                   join applications a on not a.activation_par_defaut
                        and (c.organisation_id - b.ob = 1 or pg_temp.rnd('convention:' || a.code, c.organisation_id - b.ob) % 10 < 4)
                   join roles r on r.application_id = a.id
                  order by 1, 3;
                 -- Each organisation's ceiling, numbered 0..n-1.
                 create temp table gen_org_roles as
                     select orl.organisation_id - b.ob as org_k, orl.role_id,
                            (row_number() over (partition by orl.organisation_id order by orl.role_id) - 1)::int as idx
                       from gen_base b join organisation_roles orl on orl.organisation_id > b.ob;
                 create index on gen_org_roles (org_k, idx);
                 create temp table gen_org_nroles as
                     select org_k, count(*)::int as n from gen_org_roles group by org_k;
                 create index on gen_org_nroles (org_k);
                 analyze gen_org_roles, gen_org_nroles"
            ),
        ),
        (
            "habilitations",
            // Membership s (a hashed order) gets grant slots s, s + M,
            // s + 2M...; slot j holds the (r0 + j)-th role of the
            // organisation's ceiling, so no role twice and none outside it.
            // 8 % of the grants are ended.
            format!(
                "create temp table gen_mo as
                     select user_i, org_k,
                            row_number() over (order by pg_temp.rnd('ordre-habilitations', user_i * 1000003 + org_k)) - 1 as s,
                            pg_temp.rnd('premier-role', user_i * 1000003 + org_k) as r0
                       from gen_m;
                 create index on gen_mo (s);
                 analyze gen_mo;
                 create temp table gen_counts as
                     select (select count(*) from gen_mo) as m, (select min(n) from gen_org_nroles) as r;
                 insert into grants (role_id, organisation_id, user_id, date_ouverture, date_cloture, created_at)
                 select gr.role_id, b.ob + mo.org_k, b.ub + mo.user_i, t.starts_on,
                        case when pg_temp.rnd('fin', g) % 100 < 8 then t.starts_on + 2 + (pg_temp.rnd('duree', g) % 300)::int end,
                        t.starts_on + time '14:00'
                   from gen_base b cross join gen_counts c cross join generate_series(0, least({g}, c.m * c.r) - 1) g
                   join gen_mo mo on mo.s = g % c.m
                   join gen_org_nroles nr on nr.org_k = mo.org_k
                   join gen_org_roles gr on gr.org_k = mo.org_k and gr.idx = (mo.r0 % nr.n + g / c.m) % nr.n
                   cross join lateral (select {anchor} - (pg_temp.rnd('debut', g) % 2000)::int as starts_on) t
                  order by g",
                g = p.grants
            ),
        ),
        (
            "identités (séquences)",
            "select setval(pg_get_serial_sequence('users', 'id'), (select max(id) from users));
             select setval(pg_get_serial_sequence('organisations', 'id'), (select max(id) from organisations))"
                .to_string(),
        ),
    ]
}

/// The benchmark manager (primary manager of the big organisation) and an
/// operator, with a known password; their identifiers come from the same
/// bijection, after the generated users.
async fn special_users(
    conn: &mut PgConnection,
    p: &Params,
    password_hash: &str,
) -> Result<(), BoxError> {
    sqlx::query(
        "insert into users (id, identifier, civilite, nom, prenom, email, email_verified_at, password_hash,
                            is_operator, date_ouverture, created_at)
         overriding system value
         select b.ub + $1 + x.n, pg_temp.ident($1 + x.n), x.civilite, x.nom, x.prenom, x.email,
                date '2026-01-01', $4, x.operator, date '2026-01-01', date '2026-01-01'
           from gen_base b, (values (1, 'Mme', 'Banc', 'Claire', $2, false),
                                    (2, 'M', 'Opérateur', 'Banc', $3, true))
                            as x(n, civilite, nom, prenom, email, operator)",
    )
    .bind(p.users)
    .bind(&p.email)
    .bind(&p.operator_email)
    .bind(password_hash)
    .execute(&mut *conn)
    .await?;
    sqlx::raw_sql(&format!(
        "insert into memberships (user_id, organisation_id, admin_role)
         select b.ub + {} + 1, b.ob + 1, 'primary_manager' from gen_base b;
         select setval(pg_get_serial_sequence('users', 'id'), (select max(id) from users))",
        p.users
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Journal events `from..=to`: one in ten in the big organisation, the
/// others spread like the memberships; acted by the organisation's primary
/// manager, 30 seconds apart on average.
fn events_sql(p: &Params, from: i64, to: i64) -> String {
    let (u, o, big, e) = (p.users, p.organisations, p.big_org, p.events);
    // Grant ids of the dataset (1 at least, for the modulo).
    let g = p.grants.max(1);
    let na = ACTIONS.len();
    format!(
        "insert into audit_events (at, actor_id, organisation_id, action, target_type, target_id, before, after, ip)
         select timestamptz '2026-01-01 00:00:00+00' - make_interval(secs => ({e} - j) * 30 - pg_temp.rnd('seconde', j) % 30),
                case when x.org_k = 1 then b.ub + {u} + 1 else b.ub + {big} + x.org_k - 1 end,
                b.ob + x.org_k, a.action, a.target_type,
                case when a.target_type = 'habilitation' then b.gb + 1 + pg_temp.rnd('cible', j) % {g}
                     when x.org_k = 1 then b.ub + 1 + pg_temp.rnd('cible', j) % {big}
                     else b.ub + 1 + pg_temp.rnd('cible', j) % {u} end,
                case when a.action = 'utilisateur.modification'
                     then jsonb_build_object('telephone', '01' || lpad((pg_temp.rnd('avant', j) % 100000000)::text, 8, '0')) end,
                case when a.target_type = 'habilitation'
                     then jsonb_build_object('application', 'SOFFi', 'role', 'Consultation')
                     when a.action = 'utilisateur.modification'
                     then jsonb_build_object('telephone', '01' || lpad((pg_temp.rnd('apres', j) % 100000000)::text, 8, '0')) end,
                ('10.' || pg_temp.rnd('ip1', j) % 256 || '.' || pg_temp.rnd('ip2', j) % 256 || '.' || pg_temp.rnd('ip3', j) % 256)::inet
           from gen_base b, generate_series({from}::bigint, {to}) j
           cross join lateral (select case when pg_temp.rnd('journal-structure', j) % 10 = 0 then 1
                                           else 2 + floor(({o} - 1) * pow(pg_temp.unif('journal-structure2', j), 2))::int end as org_k) x
           join gen_action a on a.k = pg_temp.rnd('action', j) % {na}
          order by j"
    )
}
