//! The Habilitations server binary:
//! `server [serve|migrate|seed-demo|create-operator EMAIL|load-sirene FILE|check-journal|generate ...|bench ...]`.
use server::{connect, migrate, seed, Settings};
use std::net::SocketAddr;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into()),
        )
        .init();
    if let Err(e) = run().await {
        tracing::error!("{e}");
        eprintln!("erreur : {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The benchmark is an HTTP client: no database of its own.
    if args.first().map(String::as_str) == Some("bench") {
        let options = server::bench::Options::from_args(&args[1..])?;
        return server::bench::run(&options).await;
    }
    let settings = Settings::from_env()?;
    let pool = connect(&settings.database_url, 20).await?;
    migrate(&pool).await.map_err(|e| e.to_string())?;
    seed::catalogue(&pool).await?;
    let sirene =
        std::env::var("HAB_SIRENE_CSV").unwrap_or_else(|_| "data/sirene-extract.csv".into());
    let known = sqlx::query_scalar!(r#"select count(*) as "n!" from sirene_etablissements"#)
        .fetch_one(&pool)
        .await?;
    if known == 0 && std::path::Path::new(&sirene).exists() {
        let n = seed::load_sirene(&pool, &sirene).await?;
        tracing::info!(n, "répertoire SIRENE chargé depuis {sirene}");
    }
    match args.first().map(String::as_str) {
        Some("migrate") => return Ok(()),
        Some("load-sirene") => {
            let path = args
                .get(1)
                .ok_or("usage : server load-sirene FICHIER.csv")?;
            println!(
                "{} établissements chargés",
                seed::load_sirene(&pool, path).await?
            );
            return Ok(());
        }
        Some("create-operator") => {
            let email = args.get(1).ok_or("usage : server create-operator EMAIL (mot de passe lu dans HAB_OPERATOR_PASSWORD ou sur l'entrée standard)")?;
            let password = match std::env::var("HAB_OPERATOR_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            seed::create_operator(&pool, email, &password).await?;
            println!("opérateur {email} prêt");
            return Ok(());
        }
        Some("check-journal") => {
            return match server::journal::check(&pool).await? {
                Ok(n) => {
                    println!("journal intègre : {n} événements chaînés");
                    Ok(())
                }
                Err(b) => Err(format!("journal altéré : {b:?}").into()),
            };
        }
        Some("generate") => {
            let params = server::generate::Params::from_args(&args[1..])?;
            server::generate::run(&pool, &params).await?;
            return Ok(());
        }
        Some("seed-demo") => {
            let created = seed::demo(&pool).await?;
            println!(
                "{}",
                if created {
                    "données de démonstration chargées"
                } else {
                    "données de démonstration déjà présentes"
                }
            );
            return Ok(());
        }
        Some("serve") | None => {}
        Some(other) => return Err(format!("commande inconnue : {other}").into()),
    }
    // First start: the operator named by the environment, if any.
    if let (Ok(email), Ok(password)) = (
        std::env::var("HAB_OPERATOR_EMAIL"),
        std::env::var("HAB_OPERATOR_PASSWORD"),
    ) {
        let n = sqlx::query_scalar!(r#"select count(*) as "n!" from users where is_operator"#)
            .fetch_one(&pool)
            .await?;
        if n == 0 {
            seed::create_operator(&pool, &email, &password).await?;
            tracing::info!("opérateur {email} créé");
        }
    }
    server::spawn_workers(pool.clone(), &settings);
    let app = server::router(pool, &settings);
    let listener = tokio::net::TcpListener::bind(&settings.bind).await?;
    tracing::info!("Habilitations en service sur {}", settings.app.public_url);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
