//! "Mes démarches": a tile per application the user holds a right on or
//! administers (activated for an organisation they manage: « Gestion
//! uniquement » when they hold no right on it), with for managers a gear
//! and the number of people waiting.
use crate::error::AppResult;
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Tile {
    pub code: String,
    pub libelle: String,
    pub description: String,
    /// The user holds an effective right on it today.
    pub held: bool,
    /// The user manages an organisation that uses it.
    pub managed: bool,
    /// Distinct people waiting for a decision in the user's organisations.
    pub pending: i64,
}

#[server(endpoint = "home_tiles", output = crate::json::Json)]
pub async fn home_tiles() -> AppResult<Vec<Tile>> {
    let me = crate::session::require_user().await?;
    // With several organisations, the one chosen in the header.
    Ok(sqlx::query_as!(
        Tile,
        r#"with held as (
             select distinct e.application_id from effective_rights(current_date) e
              where e.user_id = $1 and ($3::bigint is null or e.organisation_id = $3)
         ),
         managed_orgs as (
             select organisation_id from memberships where user_id = $1 and admin_role is not null
                and ($3::bigint is null or organisation_id = $3)
             union select id from organisations where $2
         ),
         waiting as (
             select r.application_id, count(distinct a.requester_id) as n
               from access_requests a join roles r on r.id = a.role_id
              where a.status = 'pending' and a.organisation_id in (select organisation_id from managed_orgs)
                and a.requester_id <> $1
              group by 1
         ),
         -- The démarches the user administers: those activated for an
         -- organisation they manage (with or without a right of their own).
         -- (The conventions are read directly: through the view, the
         -- semi-join on the managed organisations cannot reach them. An
         -- operator administers every démarche: nothing to read.)
         used as (
             select distinct cr.application_id from conventions c join convention_roles cr on cr.convention_id = c.id
              where not $2 and c.organisation_id in (select organisation_id from managed_orgs)
                and c.date_ouverture <= current_date and (c.date_cloture is null or c.date_cloture > current_date)
                and cr.date_ouverture <= current_date and (cr.date_cloture is null or cr.date_cloture > current_date)
         )
         select a.code, a.libelle, a.description,
                a.id in (select application_id from held) as "held!",
                (a.id in (select application_id from used) or w.n is not null or $2) as "managed!",
                coalesce(w.n, 0) as "pending!"
           from applications a left join waiting w on w.application_id = a.id
          where a.id in (select application_id from held) or a.id in (select application_id from used)
             or w.n is not null or $2
          order by a.position, a.libelle"#,
        me.id() as crate::domain::UserId,
        me.is_operator(),
        crate::session::current_organisation().await?,
    )
    .fetch_all(&crate::state::pool())
    .await?)
}

#[component]
pub fn HomePage() -> impl IntoView {
    let tiles = Resource::new(|| (), |_| home_tiles());
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Mes démarches"</h1>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match tiles.await {
                        Err(crate::error::AppError::Unauthenticated) => view! { <Welcome/> }.into_any(),
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p>"Vous n'avez encore accès à aucune démarche."</p>
                            <A href="/structures" attr:class="fr-btn">"Demander un accès"</A>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="fr-grid-row fr-grid-row--gutters fr-raw-list">
                                {list.into_iter().map(|t| view! { <TileView t=t/> }).collect::<Vec<_>>()}
                            </ul>
                            <p class="fr-mt-3w"><A href="/structures">"Demander l'accès à une autre démarche"</A></p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn TileView(t: Tile) -> impl IntoView {
    let users = format!("/demarches/{}/utilisateurs", t.code);
    let waiting = format!("{users}?role=en-attente");
    let pending = t.pending;
    view! {
        <li class="fr-col-12 fr-col-md-4">
            <div class="fr-tile tuile" data-app=t.code.clone()>
                <div class="fr-tile__body">
                    <div class="fr-tile__content">
                        <h2 class="fr-tile__title">{t.libelle.clone()}</h2>
                        <p class="fr-tile__desc">{t.description.clone()}</p>
                        {(pending > 0).then(|| view! {
                            <p class="fr-tile__detail">
                                <A href=waiting attr:class="fr-link en-attente">
                                    {format!("En attente {pending} {}", if pending > 1 { "personnes" } else { "personne" })}
                                </A>
                            </p>
                        })}
                        <div class="fr-tile__start">
                            {if t.held {
                                view! { <p class="fr-badge fr-badge--success fr-badge--sm">"Accès ouvert"</p> }.into_any()
                            } else {
                                view! { <p class="fr-badge fr-badge--sm">"Gestion uniquement"</p> }.into_any()
                            }}
                        </div>
                    </div>
                </div>
                {t.managed.then(|| view! {
                    <div class="tuile-gestion">
                        <A href=users attr:class="fr-btn fr-btn--tertiary-no-outline fr-btn--sm fr-icon-settings-5-line"
                            attr:title=format!("Utilisateurs du service {}", t.libelle)>
                            {format!("Utilisateurs du service {}", t.libelle)}
                        </A>
                    </div>
                })}
            </div>
        </li>
    }
}

#[component]
fn Welcome() -> impl IntoView {
    view! {
        <p class="fr-text--lead">"Accédez simplement à vos démarches en ligne."</p>
        <ol>
            <li>"Créez-vous un compte."</li>
            <li>"Validez vos accès."</li>
            <li>"Accédez à vos démarches."</li>
        </ol>
        <ul class="fr-btns-group fr-btns-group--inline">
            <li><A href="/connexion" attr:class="fr-btn">"Se connecter"</A></li>
            <li><A href="/inscription" attr:class="fr-btn fr-btn--secondary">"Se créer un compte"</A></li>
        </ul>
    }
}
