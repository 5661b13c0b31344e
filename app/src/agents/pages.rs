//! Screen "Liste des agents".
use super::*;
use crate::ui::{action_error, FormAlert, Success};
use leptos::form::ActionForm;
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn AgentsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let org = move || {
        params
            .get()
            .get("org")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let get = move |k: &str| query.get().get(k).unwrap_or_default();
    let resend = ServerAction::<ResendIdentifier>::new();
    let resend_err = action_error(resend);
    let data = Resource::new(
        move || {
            (
                org(),
                get("q"),
                get("identifiant"),
                get("nom"),
                get("prenom"),
                get("apres"),
            )
        },
        |(o, q, i, n, p, a)| list_agents(o, q, i, n, p, a),
    );
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(page) => {
                            let org_id = org();
                            let filters = ["q", "identifiant", "nom", "prenom"].map(get);
                            let next_href = page.next.clone().map(|n| {
                                crate::ui::query_string(&[
                                    ("q", filters[0].clone()),
                                    ("identifiant", filters[1].clone()),
                                    ("nom", filters[2].clone()),
                                    ("prenom", filters[3].clone()),
                                    ("apres", n),
                                ])
                            });
                            let export_href = format!("/exports/agents.csv{}", crate::ui::query_string(&[
                                ("organisation", org_id.to_string()),
                                ("q", filters[0].clone()),
                                ("identifiant", filters[1].clone()),
                                ("nom", filters[2].clone()),
                                ("prenom", filters[3].clone()),
                            ]));
                            let count = page.rows.len();
                            view! {
                                <h1>"Liste des agents"</h1>
                                <p class="fr-text--lead">{page.organisation.clone()} " — SIRET " {page.siret.clone()}</p>
                                <Form method="GET" action="">
                                    <div class="fr-grid-row fr-grid-row--gutters fr-grid-row--bottom">
                                        <FilterField id="filtre-q" name="q" label="Recherche" value=filters[0].clone()/>
                                        <FilterField id="filtre-identifiant" name="identifiant" label="Identifiant" value=filters[1].clone()/>
                                        <FilterField id="filtre-nom" name="nom" label="Nom" value=filters[2].clone()/>
                                        <FilterField id="filtre-prenom" name="prenom" label="Prénom" value=filters[3].clone()/>
                                        <div class="fr-col-12 fr-col-md-2">
                                            <button class="fr-btn fr-mb-3w" type="submit">"Filtrer"</button>
                                        </div>
                                    </div>
                                </Form>
                                <ul class="fr-btns-group fr-btns-group--inline-md fr-btns-group--icon-left">
                                    <li><A href=format!("/structures/{org_id}/nouvel-agent") attr:class="fr-btn fr-icon-user-add-line fr-btn--icon-left">"Créer un utilisateur"</A></li>
                                    <li><A href=format!("/structures/{org_id}/import") attr:class="fr-btn fr-btn--secondary fr-icon-upload-line fr-btn--icon-left">"Importer des utilisateurs"</A></li>
                                    <li><a href=export_href class="fr-btn fr-btn--tertiary fr-icon-download-line fr-btn--icon-left" download>"Exporter en CSV"</a></li>
                                </ul>
                                <FormAlert error=resend_err/>
                                {move || matches!(resend.value().get(), Some(Ok(_))).then(|| view! {
                                    <Success>"L'identifiant a été renvoyé par courriel à l'agent."</Success>
                                })}
                                <p class="fr-text--bold" role="status">
                                    {if page.next.is_some() { "Plus de ".to_string() } else { String::new() }}
                                    {count} {if count > 1 { " agents" } else { " agent" }}
                                </p>
                                <div class="fr-table">
                                    <table>
                                        <caption>"Agents de la structure"</caption>
                                        <thead><tr>
                                            <th scope="col">"Identifiant"</th><th scope="col">"Nom"</th><th scope="col">"Prénom"</th>
                                            <th scope="col">"Adresse mail"</th><th scope="col">"Téléphone"</th>
                                            <th scope="col">"Date d'ouverture"</th><th scope="col">"Date de clôture"</th>
                                            <th scope="col">"Statut"</th><th scope="col">"Actions"</th>
                                        </tr></thead>
                                        <tbody>
                                            {page.rows.into_iter().map(|r| {
                                                let label = format!("Renvoi de l'identifiant par mail à {} {}", r.prenom, r.nom);
                                                let fiche = format!("/structures/{org_id}/agents/{}", r.id);
                                                let modifier = format!("Modifier {} {}", r.prenom, r.nom);
                                                let detail = format!("Détail de {} {}", r.prenom, r.nom);
                                                view! {
                                                    <tr class="agent">
                                                        <td>{r.identifier}</td><td>{r.nom}</td><td>{r.prenom}</td><td>{r.email}</td>
                                                        <td>{r.telephone}</td><td>{r.date_ouverture}</td><td>{r.date_cloture}</td>
                                                        <td>{r.statut}</td>
                                                        <td>
                                                            <A href=fiche.clone() attr:class="fr-link fr-mr-2w" attr:aria-label=modifier>"Modifier"</A>
                                                            <A href=format!("{fiche}?onglet=roles") attr:class="fr-link" attr:aria-label=detail>"Détail"</A>
                                                            <ActionForm action=resend>
                                                                <input type="hidden" name="organisation_id" value=org_id/>
                                                                <input type="hidden" name="user_id" value=r.id/>
                                                                <button type="submit" class="fr-btn fr-btn--sm fr-btn--tertiary fr-icon-mail-line fr-btn--icon-left" title=label.clone() aria-label=label>
                                                                    "Renvoi de l'identifiant par mail"
                                                                </button>
                                                            </ActionForm>
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect::<Vec<_>>()}
                                        </tbody>
                                    </table>
                                </div>
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
fn FilterField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    value: String,
) -> impl IntoView {
    view! {
        <div class="fr-col-12 fr-col-md-5 fr-col-lg-2">
            <div class="fr-input-group">
                <label class="fr-label" for=id>{label}</label>
                <input class="fr-input" type="search" id=id name=name value=value/>
            </div>
        </div>
    }
}
