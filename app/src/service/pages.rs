//! Screens "Utilisateurs du service" and a user's card.
use super::*;
use crate::requests::DecideRequest;
use crate::ui::{action_error, Field, FormAlert, ScrollTable, Success};
use leptos::form::ActionForm;
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ServiceUsersPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let app = move || params.get().get("app").unwrap_or_default();
    let get = move |k: &str| query.get().get(k).unwrap_or_default();
    let data = Resource::new(
        move || (app(), get("q"), get("role"), get("apres")),
        |(a, q, r, after)| list_service_users(a, q, r, after),
    );
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(page) => {
                            let code = page.application.code.clone();
                            let role_now = get("role");
                            let q_now = get("q");
                            let next_href = page.next.clone().map(|n| {
                                crate::ui::query_string(&[
                                    ("q", q_now.clone()),
                                    ("role", role_now.clone()),
                                    ("apres", n),
                                ])
                            });
                            let count = page.rows.len();
                            view! {
                                <h1>"Utilisateurs du service — " {page.application.libelle.clone()}</h1>
                                <Form method="GET" action="">
                                    <div class="fr-grid-row fr-grid-row--gutters fr-grid-row--bottom">
                                        <div class="fr-col-12 fr-col-md-6">
                                            <div class="fr-input-group">
                                                <label class="fr-label" for="recherche-utilisateur">"Rechercher un utilisateur (nom, prénom, e-mail, SIRET)"</label>
                                                <input class="fr-input" type="search" id="recherche-utilisateur" name="q" value=q_now.clone()/>
                                            </div>
                                        </div>
                                        <div class="fr-col-12 fr-col-md-4">
                                            <div class="fr-select-group">
                                                <label class="fr-label" for="filtre-role">"Rôle"</label>
                                                <select class="fr-select" id="filtre-role" name="role">
                                                    <option value="" selected=role_now.is_empty()>"Tous les rôles"</option>
                                                    {page.application.roles.iter().map(|(_, c, l)| view! {
                                                        <option value=c.clone() selected=*c == role_now>{l.clone()}</option>
                                                    }).collect::<Vec<_>>()}
                                                    <option value="en-attente" selected=role_now == "en-attente">"En attente"</option>
                                                </select>
                                            </div>
                                        </div>
                                        <div class="fr-col-12 fr-col-md-2">
                                            <button class="fr-btn fr-mb-3w" type="submit">"Rechercher"</button>
                                        </div>
                                    </div>
                                </Form>
                                <p class="fr-text--bold" role="status">{count} {if count > 1 { " droits d'accès trouvés" } else { " droit d'accès trouvé" }}</p>
                                <ScrollTable label="Utilisateurs du service" class="fr-table--no-caption">
                                    <table>
                                        <caption>"Utilisateurs du service"</caption>
                                        <thead><tr>
                                            <th scope="col">"Nom"</th><th scope="col">"Adresse e-mail"</th><th scope="col">"Structure"</th>
                                            <th scope="col">"Rôles"</th><th scope="col">"Demandes"</th>
                                        </tr></thead>
                                        <tbody>
                                            {page.rows.into_iter().map(|r| {
                                                let href = format!("/demarches/{}/utilisateurs/{}?structure={}", code, r.user_id, r.organisation_id);
                                                view! {
                                                    <tr class="utilisateur">
                                                        <td><A href=href>{format!("{} {}", r.prenom, r.nom)}</A></td>
                                                        <td>{r.email}</td>
                                                        <td>{r.structure} " (SIRET " {r.siret} ")"</td>
                                                        <td>{r.roles}</td>
                                                        <td>{(r.pending > 0).then(|| view! { <span class="fr-badge fr-badge--new fr-badge--sm">"En attente"</span> })}</td>
                                                    </tr>
                                                }
                                            }).collect::<Vec<_>>()}
                                        </tbody>
                                    </table>
                                </ScrollTable>
                                {next_href.map(|h| view! { <A href=h attr:class="fr-btn fr-btn--secondary">"Page suivante"</A> })}
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
pub fn UserCardPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let decide = ServerAction::<DecideRequest>::new();
    let add = ServerAction::<AddGrant>::new();
    let decide_err = action_error(decide);
    let add_err = action_error(add);
    let card = Resource::new(
        move || {
            let p = params.get();
            (
                p.get("app").unwrap_or_default(),
                p.get("user")
                    .and_then(|u| u.parse::<i64>().ok())
                    .unwrap_or(0),
                query
                    .get()
                    .get("structure")
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(0),
                decide.version().get() + add.version().get(),
            )
        },
        |(a, u, o, _)| {
            get_user_card(a, crate::domain::UserId(u), crate::domain::OrganisationId(o))
        },
    );
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match card.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(c) => {
                            let back = format!("/demarches/{}/utilisateurs", c.application.code);
                            let has_pending = !c.pending.is_empty();
                            let libelle = c.application.libelle.clone();
                            let libelle2 = libelle.clone();
                            view! {
                                <p><A href=back>"← Utilisateurs du service " {libelle.clone()}</A></p>
                                <h1>{format!("{} {}", c.prenom, c.nom)}</h1>
                                {move || matches!(decide.value().get(), Some(Ok(_))).then(|| view! { <Success>"La décision est enregistrée et le demandeur en est informé par courriel."</Success> })}
                                <section class="fr-card fr-p-3w fr-mb-3w">
                                    <h2 class="fr-h4">"Coordonnées"</h2>
                                    <dl class="coordonnees">
                                        <dt>"Civilité"</dt><dd>{crate::domain::Civilite::label(&c.civilite)}</dd>
                                        <dt>"Nom"</dt><dd>{c.nom.clone()}</dd>
                                        <dt>"Prénom"</dt><dd>{c.prenom.clone()}</dd>
                                        <dt>"Appartenance"</dt><dd>{format!("{} (SIRET {})", c.structure, c.siret)}</dd>
                                        <dt>"Adresse e-mail"</dt><dd>{c.email.clone()}</dd>
                                        <dt>"Téléphone"</dt><dd>{if c.telephone.is_empty() { "Non renseigné".to_string() } else { c.telephone.clone() }}</dd>
                                    </dl>
                                </section>
                                <section class="fr-card fr-p-3w fr-mb-3w">
                                    <h2 class="fr-h4">"Demandes en cours"</h2>
                                    <FormAlert error=decide_err/>
                                    {(!has_pending).then(|| view! { <p>"Aucune demande en attente."</p> })}
                                    {c.pending.into_iter().map(|p| {
                                        let accept_label = format!("Accepter la demande {}", p.role);
                                        let refuse_label = format!("Refuser la demande {}", p.role);
                                        view! {
                                        <div class="demande-en-cours fr-mb-2w">
                                            <p>
                                                <strong>{p.role.clone()}</strong> " — demandé le " {p.created_at.clone()}
                                                {(!p.message.is_empty()).then(|| view! { <br/> "Message : « " {p.message.clone()} " »" })}
                                            </p>
                                            <div class="fr-grid-row fr-grid-row--gutters">
                                                <div class="fr-col-12 fr-col-md-4">
                                                    <ActionForm action=decide>
                                                        <input type="hidden" name="id" value=p.id/>
                                                        <input type="hidden" name="decision" value="accepter"/>
                                                        <button type="submit" class="fr-btn fr-icon-check-line fr-btn--icon-left">
                                                            {accept_label}
                                                        </button>
                                                    </ActionForm>
                                                </div>
                                                <div class="fr-col-12 fr-col-md-8">
                                                    <ActionForm action=decide>
                                                        <input type="hidden" name="id" value=p.id/>
                                                        <input type="hidden" name="decision" value="refuser"/>
                                                        <div class="fr-input-group">
                                                            <label class="fr-label" for=format!("motif-{}", p.id)>"Motif du refus (facultatif)"</label>
                                                            <textarea class="fr-input" id=format!("motif-{}", p.id) name="comment" rows="2" maxlength="1000"></textarea>
                                                        </div>
                                                        <button type="submit" class="fr-btn fr-btn--secondary fr-icon-close-line fr-btn--icon-left">
                                                            {refuse_label}
                                                        </button>
                                                    </ActionForm>
                                                </div>
                                            </div>
                                        </div>
                                    }}).collect::<Vec<_>>()}
                                </section>
                                <section class="fr-card fr-p-3w fr-mb-3w">
                                    <h2 class="fr-h4">"Habilitations pour " {libelle2}</h2>
                                    {(!c.group_rights.is_empty()).then(|| view! {
                                        <p class="fr-mb-1w">"Par ses groupes d'utilisateurs :"</p>
                                        <ul class="habilitations">
                                            {c.group_rights.clone().into_iter().map(|r| view! { <li>{r}</li> }).collect::<Vec<_>>()}
                                        </ul>
                                        <p class="fr-mb-1w">"Attribuées directement :"</p>
                                    })}
                                    {if c.grants.is_empty() {
                                        view! { <p>"Aucune habilitation."</p> }.into_any()
                                    } else {
                                        view! {
                                            <ul class="habilitations">
                                                {c.grants.into_iter().map(|g| view! {
                                                    <li>{g.role} " — à partir du " {g.date_ouverture}
                                                        {(!g.date_cloture.is_empty()).then(|| format!(
                                                            ", date de clôture : {} (dernier jour : {})",
                                                            g.date_cloture, g.dernier_jour,
                                                        ))}</li>
                                                }).collect::<Vec<_>>()}
                                            </ul>
                                        }.into_any()
                                    }}
                                    <h3 class="fr-h6 fr-mt-2w">"Ajouter une nouvelle habilitation"</h3>
                                    <ActionForm action=add>
                                        <FormAlert error=add_err/>
                                        <input type="hidden" name="user_id" value=c.user_id/>
                                        <input type="hidden" name="organisation_id" value=c.organisation_id/>
                                        <div class="fr-select-group">
                                            <label class="fr-label" for="nouveau-role">"Rôle"</label>
                                            <select class="fr-select" id="nouveau-role" name="role_id" required=true>
                                                {c.application.roles.iter().map(|(id, _, l)| view! { <option value=*id>{l.clone()}</option> }).collect::<Vec<_>>()}
                                            </select>
                                            {move || add_err.get().and_then(|e| e.field("role_id")).map(|m| view! { <p class="fr-error-text">{m}</p> })}
                                        </div>
                                        <div class="fr-grid-row fr-grid-row--gutters">
                                            <div class="fr-col-12 fr-col-md-6">
                                                <Field label="Date d'ouverture" name="date_ouverture" kind="date" required=true
                                                    value=chrono::Local::now().date_naive().to_string() error=add_err/>
                                            </div>
                                            <div class="fr-col-12 fr-col-md-6">
                                                <Field label="Date de clôture (facultative)" name="date_cloture" kind="date"
                                                    hint="Le premier jour sans l'habilitation : elle est détenue jusqu'à la veille." error=add_err/>
                                            </div>
                                        </div>
                                        <button type="submit" class="fr-btn fr-btn--secondary">"Ajouter une nouvelle habilitation"</button>
                                    </ActionForm>
                                </section>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}
