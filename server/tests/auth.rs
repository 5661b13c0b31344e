//! Accounts over real HTTP against a real PostgreSQL.
mod common;
use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn signup_with_invalid_fields_reports_each_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (status, body) = app
        .call(
            &c,
            "signup",
            &[
                ("civilite", ""),
                ("nom", ""),
                ("prenom", "Jeanne"),
                ("email", "jeanne@exemple.fr"),
                ("email_confirmation", "jeane@exemple.fr"),
                ("telephone", "01 23 45 67 89"),
                ("telephone_confirmation", "01 23 45 67 88"),
                ("password", "court"),
                ("password_confirmation", "court"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = invalid_fields(&body);
    for f in [
        "civilite",
        "nom",
        "email_confirmation",
        "telephone_confirmation",
        "password",
    ] {
        assert!(fields.contains(&f.to_string()), "{f} missing in {body}");
    }
    assert!(body.to_string().contains("12 caractères"));
    assert_eq!(app.count("select count(*) from users").await, 0);
    assert_eq!(app.count("select count(*) from outbox").await, 0);
}

#[tokio::test]
async fn signup_refuses_common_password_and_bad_email() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let mut form = signup_form("pas-une-adresse", "Jeanne", "Martin");
    form[7] = ("password", "motdepasse123");
    form[8] = ("password_confirmation", "motdepasse123");
    let (status, body) = app.call(&c, "signup", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = invalid_fields(&body);
    assert!(fields.contains(&"email".to_string()), "{body}");
    assert!(fields.contains(&"password".to_string()), "{body}");
    assert!(body.to_string().contains("trop courant"));
}

#[tokio::test]
async fn signup_sends_a_verification_link_and_login_waits_for_it() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (status, _) = app
        .call(
            &c,
            "signup",
            &signup_form("jeanne@exemple.fr", "Jeanne", "Martin"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let identifier: (String,) =
        sqlx::query_as("select identifier from users where email = 'jeanne@exemple.fr'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(app::domain::UserIdentifier::parse(&identifier.0).is_ok());

    let (status, body) = app
        .call(
            &c,
            "login",
            &[("email", "jeanne@exemple.fr"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.to_string().contains("pas encore validée"), "{body}");

    let (subject, mail) = app.last_mail("jeanne@exemple.fr").await.unwrap();
    assert_eq!(subject, "Validez votre adresse électronique");
    assert!(mail.contains(&format!("{}/compte/verifier?jeton=", app.url)));
    let token = token_in(&mail);
    assert_eq!(
        app.call(&c, "verify_email", &[("jeton", &token)]).await.0,
        StatusCode::OK
    );
    // The link is single-use.
    let (status, body) = app.call(&c, "verify_email", &[("jeton", &token)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, _) = app
        .call(
            &c,
            "login",
            &[("email", "Jeanne@Exemple.fr "), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = app.call(&c, "me", &[]).await;
    assert_eq!(me["prenom"], "Jeanne");
    assert_eq!(me["identifier"], identifier.0.as_str());
}

#[tokio::test]
async fn signup_with_a_taken_email_answers_the_same_and_warns_the_owner() {
    let app = TestApp::spawn().await;
    app.signup_verified("jeanne@exemple.fr", "Jeanne", "Martin")
        .await;
    let c = app.client();
    let (status, _) = app
        .call(
            &c,
            "signup",
            &signup_form("jeanne@exemple.fr", "Autre", "Personne"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.count("select count(*) from users").await, 1);
    let (subject, _) = app.last_mail("jeanne@exemple.fr").await.unwrap();
    assert_eq!(subject, "Votre compte Habilitations existe déjà");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_fail_alike() {
    let app = TestApp::spawn().await;
    app.signup_verified("jeanne@exemple.fr", "Jeanne", "Martin")
        .await;
    let c = app.client();
    let (s1, b1) = app
        .call(
            &c,
            "login",
            &[
                ("email", "jeanne@exemple.fr"),
                ("password", "mauvais mot de passe"),
            ],
        )
        .await;
    let (s2, b2) = app
        .call(
            &c,
            "login",
            &[
                ("email", "inconnu@exemple.fr"),
                ("password", "mauvais mot de passe"),
            ],
        )
        .await;
    assert_eq!(s1, StatusCode::CONFLICT);
    assert_eq!((s1, &b1), (s2, &b2));
    let (_, me) = app.call(&c, "me", &[]).await;
    assert!(me.is_null());
}

#[tokio::test]
async fn repeated_login_failures_are_rate_limited_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    app.signup_verified("jeanne@exemple.fr", "Jeanne", "Martin")
        .await;
    let c = app.client();
    for _ in 0..5 {
        let (s, _) = app
            .call(
                &c,
                "login",
                &[
                    ("email", "jeanne@exemple.fr"),
                    ("password", "mauvais mot de passe"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
    }
    let (s, body) = app
        .call(
            &c,
            "login",
            &[("email", "jeanne@exemple.fr"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.to_string().contains("Trop de tentatives"));
    // The window passes: login works again and the counter resets.
    sqlx::query("update login_failures set at = at - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, _) = app
        .call(
            &c,
            "login",
            &[("email", "jeanne@exemple.fr"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn login_renews_the_session_id_and_logout_ends_it() {
    let app = TestApp::spawn().await;
    app.signup_verified("jeanne@exemple.fr", "Jeanne", "Martin")
        .await;
    let c = app.client();
    let cookie = |resp: &reqwest::Response| {
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("hab_session="))
            .map(|v| v.to_string())
    };
    let login = || {
        c.post(format!("{}/api/login", app.url))
            .form(&[("email", "jeanne@exemple.fr"), ("password", PASSWORD)])
    };
    let first = cookie(&login().send().await.unwrap()).expect("session cookie");
    assert!(
        first.contains("HttpOnly") && first.contains("SameSite=Lax"),
        "{first}"
    );
    let second = cookie(&login().send().await.unwrap()).expect("session cookie");
    assert_ne!(
        first.split(';').next(),
        second.split(';').next(),
        "session id must change at login"
    );

    assert_eq!(app.call(&c, "logout", &[]).await.0, StatusCode::OK);
    let (_, me) = app.call(&c, "me", &[]).await;
    assert!(me.is_null());
}

#[tokio::test]
async fn password_reset_is_single_use_and_ends_every_session() {
    let app = TestApp::spawn().await;
    app.signup_verified("jeanne@exemple.fr", "Jeanne", "Martin")
        .await;
    let elsewhere = app.login("jeanne@exemple.fr").await;
    let c = app.client();
    assert_eq!(
        app.call(&c, "forgot_password", &[("email", "jeanne@exemple.fr")])
            .await
            .0,
        StatusCode::OK
    );
    // Unknown addresses get the same answer and no mail.
    assert_eq!(
        app.call(&c, "forgot_password", &[("email", "personne@exemple.fr")])
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(app.mail_count("personne@exemple.fr").await, 0);

    let (subject, mail) = app.last_mail("jeanne@exemple.fr").await.unwrap();
    assert_eq!(subject, "Réinitialisation de votre mot de passe");
    let token = token_in(&mail);
    let new = "un tout nouveau mot de passe";
    let (s, body) = app
        .call(
            &c,
            "reset_password",
            &[
                ("jeton", &token),
                ("password", new),
                ("password_confirmation", "autre"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["password_confirmation"]);
    let (s, _) = app
        .call(
            &c,
            "reset_password",
            &[
                ("jeton", &token),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Used once: refused the second time.
    let (s, body) = app
        .call(
            &c,
            "reset_password",
            &[
                ("jeton", &token),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    // The session opened before the reset is over.
    let (_, me) = app.call(&elsewhere, "me", &[]).await;
    assert!(me.is_null(), "old session still valid: {me}");
    let (s, _) = app
        .call(
            &c,
            "login",
            &[("email", "jeanne@exemple.fr"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .call(
            &c,
            "login",
            &[("email", "jeanne@exemple.fr"), ("password", new)],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn password_reset_link_expires_after_one_hour() {
    let app = TestApp::spawn().await;
    app.signup_verified("jeanne@exemple.fr", "Jeanne", "Martin")
        .await;
    let c = app.client();
    app.call(&c, "forgot_password", &[("email", "jeanne@exemple.fr")])
        .await;
    let (_, mail) = app.last_mail("jeanne@exemple.fr").await.unwrap();
    let token = token_in(&mail);
    let (lifetime,): (f64,) = sqlx::query_as(
        "select extract(epoch from expires_at - created_at)::float8 from email_tokens where purpose = 'reset'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((lifetime - 3600.0).abs() < 5.0, "lifetime {lifetime}");
    sqlx::query(
        "update email_tokens set expires_at = now() - interval '1 second' where purpose = 'reset'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let new = "un tout nouveau mot de passe";
    let (s, body) = app
        .call(
            &c,
            "reset_password",
            &[
                ("jeton", &token),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.to_string().contains("plus valable"));
}

#[tokio::test]
async fn cross_origin_posts_are_refused() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let resp = c
        .post(format!("{}/api/forgot_password", app.url))
        .header("origin", "http://attaquant.example")
        .form(&[("email", "jeanne@exemple.fr")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = c
        .post(format!("{}/api/forgot_password", app.url))
        .header("origin", app.url.clone())
        .form(&[("email", "jeanne@exemple.fr")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn journal_refuses_update_and_delete() {
    let app = TestApp::spawn().await;
    app.signup_verified("jeanne@exemple.fr", "Jeanne", "Martin")
        .await;
    assert!(app.count("select count(*) from audit_events").await >= 2);
    assert!(sqlx::query("update audit_events set action = 'x'")
        .execute(&app.pool)
        .await
        .is_err());
    assert!(sqlx::query("delete from audit_events")
        .execute(&app.pool)
        .await
        .is_err());
}
