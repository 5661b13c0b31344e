//! Screen "Liste des agents".
use super::*;
use crate::ui::{action_error, FilterField, FormAlert, ScrollTable, Success};
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
                get("groupe").parse::<i64>().unwrap_or(0),
            )
        },
        |(o, q, i, n, p, a, g)| {
            list_agents(crate::domain::OrganisationId(o), q, i, n, p, a, crate::domain::GroupId(g))
        },
    );
    // « Sélectionner un groupe »: the groups the caller may see.
    let groups = Resource::new(org, |o| {
        crate::groups::group_choices(crate::domain::OrganisationId(o))
    });
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match (data.await, groups.await) {
                        (Err(e), _) | (_, Err(e)) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        (Ok(page), Ok(groups)) => {
                            let org_id = org();
                            let filters = ["q", "identifiant", "nom", "prenom", "groupe", "convention"].map(get);
                            let next_href = page.next.clone().map(|n| {
                                crate::ui::query_string(&[
                                    ("q", filters[0].clone()),
                                    ("identifiant", filters[1].clone()),
                                    ("nom", filters[2].clone()),
                                    ("prenom", filters[3].clone()),
                                    ("groupe", filters[4].clone()),
                                    ("convention", filters[5].clone()),
                                    ("apres", n),
                                ])
                            });
                            let export_href = format!("/exports/agents.csv{}", crate::ui::query_string(&[
                                ("organisation", org_id.to_string()),
                                ("q", filters[0].clone()),
                                ("identifiant", filters[1].clone()),
                                ("nom", filters[2].clone()),
                                ("prenom", filters[3].clone()),
                                ("groupe", filters[4].clone()),
                            ]));
                            let chosen_group = filters[4].parse::<i64>().unwrap_or(0);
                            let manager = page.manager;
                            let count = page.rows.len();
                            view! {
                                <h1>"Liste des agents"</h1>
                                <p class="fr-text--lead">{page.organisation.clone()} " — SIRET " {page.siret.clone()}</p>
                                {(!manager).then(|| view! {
                                    <p class="fr-text--sm">"Responsable habilitations : vous voyez les utilisateurs des groupes dont vous êtes responsable et de leurs sous-groupes."</p>
                                })}
                                <ul class="fr-btns-group fr-btns-group--inline-md fr-btns-group--icon-left barre-actions">
                                    <li><A href=format!("/structures/{org_id}/nouvel-agent") attr:class="fr-btn fr-icon-user-add-line fr-btn--icon-left">"Créer un utilisateur"</A></li>
                                    {manager.then(|| view! {
                                        <li><A href=format!("/structures/{org_id}/import") attr:class="fr-btn fr-btn--secondary fr-icon-upload-line fr-btn--icon-left">"Importer des utilisateurs"</A></li>
                                    })}
                                    <li><a href=export_href class="fr-btn fr-btn--tertiary fr-icon-download-line fr-btn--icon-left" download>"Exporter en CSV"</a></li>
                                    {(!filters[5].is_empty()).then(|| view! {
                                        <li><A href="/conventions" attr:class="fr-btn fr-btn--tertiary">"Retour à la liste des conventions"</A></li>
                                    })}
                                </ul>
                                <Form method="GET" action="">
                                    <fieldset class="fr-fieldset filtres" aria-labelledby="titre-filtres">
                                        <legend class="fr-fieldset__legend fr-text--regular" id="titre-filtres">"Rechercher des agents"</legend>
                                        <FilterField id="filtre-q" name="q" label="Recherche" value=filters[0].clone()/>
                                        <FilterField id="filtre-identifiant" name="identifiant" label="Identifiant" value=filters[1].clone()/>
                                        <FilterField id="filtre-nom" name="nom" label="Nom" value=filters[2].clone()/>
                                        <FilterField id="filtre-prenom" name="prenom" label="Prénom" value=filters[3].clone()/>
                                        {(!filters[5].is_empty()).then(|| view! { <input type="hidden" name="convention" value=filters[5].clone()/> })}
                                        <div class="fr-fieldset__element fr-fieldset__element--inline filtres__champ">
                                            <div class="fr-select-group">
                                                <label class="fr-label" for="filtre-groupe">"Sélectionner un groupe"</label>
                                                <select class="fr-select" id="filtre-groupe" name="groupe">
                                                    <option value="" selected=chosen_group == 0>"Tous"</option>
                                                    {groups.into_iter().map(|g| view! { <option value=g.id selected=g.id == chosen_group>{g.label}</option> }).collect::<Vec<_>>()}
                                                </select>
                                            </div>
                                        </div>
                                        <div class="fr-fieldset__element fr-fieldset__element--inline filtres__bouton">
                                            <button class="fr-btn" type="submit">"Filtrer"</button>
                                        </div>
                                    </fieldset>
                                </Form>
                                <FormAlert error=resend_err/>
                                {move || matches!(resend.value().get(), Some(Ok(_))).then(|| view! {
                                    <Success>"L'identifiant a été renvoyé par courriel à l'agent."</Success>
                                })}
                                <p class="fr-text--bold" role="status">
                                    {if page.next.is_some() { "Plus de ".to_string() } else { String::new() }}
                                    {count} {if count > 1 { " agents" } else { " agent" }}
                                </p>
                                <ScrollTable label="Agents de la structure">
                                    <table>
                                        <caption>"Agents de la structure"</caption>
                                        <thead><tr>
                                            <th scope="col">"Identifiant"</th><th scope="col">"Nom"</th><th scope="col">"Prénom"</th>
                                            <th scope="col">"Adresse mail"</th><th scope="col">"Service"</th><th scope="col">"Téléphone"</th>
                                            <th scope="col">"Statut"</th><th scope="col" class="colonne-actions">"Actions"</th>
                                        </tr></thead>
                                        <tbody>
                                            {page.rows.into_iter().map(|r| {
                                                let who = format!("{} {}", r.prenom, r.nom);
                                                let fiche = format!("/structures/{org_id}/agents/{}", r.id);
                                                let open = r.statut == "Ouvert";
                                                let period = if r.date_cloture.is_empty() {
                                                    format!("depuis le {}", r.date_ouverture)
                                                } else {
                                                    format!("du {} au {}", r.date_ouverture, r.date_cloture)
                                                };
                                                view! {
                                                    <tr class="agent">
                                                        <td>{r.identifier}</td>
                                                        <td><A href=fiche.clone()>{r.nom}</A></td>
                                                        <td>{r.prenom}</td>
                                                        <td class="fr-cell--multiline">{breakable_email(&r.email)}</td>
                                                        <td class="fr-cell--multiline">{if r.service.is_empty() { "—".to_string() } else { r.service }}</td>
                                                        <td>{r.telephone}</td>
                                                        <td>
                                                            <span class="fr-badge fr-badge--sm" class:fr-badge--success=open>{r.statut}</span>
                                                            <br/><span class="fr-text--xs">{period}</span>
                                                        </td>
                                                        <td class="colonne-actions"><ActionsMenu who=who fiche=fiche org_id=org_id user_id=r.id resend=resend manager/></td>
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

/// An address that wraps after its « @ » and dots, not inside a word.
fn breakable_email(email: &str) -> impl IntoView {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in email.char_indices() {
        if c == '@' || c == '.' {
            parts.push(email[start..i].to_string());
            start = i;
        }
    }
    parts.push(email[start..].to_string());
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| view! { {(i > 0).then(|| view! { <wbr/> })}{p} })
        .collect::<Vec<_>>()
}

/// The actions on one agent, in a menu (a disclosure: keyboard and screen
/// readers know it without script) rather than a row of buttons.
#[component]
fn ActionsMenu(
    who: String,
    fiche: String,
    org_id: i64,
    user_id: i64,
    resend: ServerAction<ResendIdentifier>,
    manager: bool,
) -> impl IntoView {
    let groups = format!("/structures/{org_id}/agents/{user_id}/groupes");
    view! {
        <details class="menu-actions">
            <summary class="fr-btn fr-btn--sm fr-btn--tertiary" aria-label=format!("Actions pour {who}")>"Actions"</summary>
            <ul class="menu-actions__liste">
                <li><A href=fiche.clone() attr:aria-label=format!("Modifier la fiche de {who}")>"Modifier la fiche"</A></li>
                {manager.then(|| view! {
                    <li><A href=format!("{fiche}?onglet=roles") attr:aria-label=format!("Voir les rôles de {who}")>"Voir les rôles"</A></li>
                })}
                <li><A href=format!("{groups}#ajouter") attr:aria-label=format!("Ajouter à un groupe : {who}")>"Ajouter à un groupe"</A></li>
                <li><A href=groups.clone() attr:aria-label=format!("Gérer l'appartenance de l'utilisateur : {who}")>"Gérer l'appartenance de l'utilisateur"</A></li>
                {manager.then(|| view! {
                    <li>
                        <ActionForm action=resend>
                            <input type="hidden" name="organisation_id" value=org_id/>
                            <input type="hidden" name="user_id" value=user_id/>
                            <button type="submit" aria-label=format!("Renvoyer l'identifiant par mail à {who}")>
                                "Renvoyer l'identifiant par mail"
                            </button>
                        </ActionForm>
                    </li>
                })}
            </ul>
        </details>
    }
}
