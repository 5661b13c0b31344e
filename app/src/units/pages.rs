//! Screen "Services de la structure".
use super::*;
use crate::ui::{action_error, Field, FormAlert, ScrollTable, Success};
use leptos::form::ActionForm;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn UnitsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let org = move || {
        params
            .get()
            .get("org")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let editing = move || {
        query
            .get()
            .get("modifier")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let save = ServerAction::<SaveUnit>::new();
    let toggle = ServerAction::<SetUnitActive>::new();
    let err = action_error(save);
    let toggle_err = action_error(toggle);
    let units = Resource::new(
        move || (org(), save.version().get(), toggle.version().get()),
        |(o, _, _)| list_units(crate::domain::OrganisationId(o)),
    );
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Services de la structure"</h1>
            <FormAlert error=toggle_err/>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match units.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(list) => {
                            let org_id = org();
                            let current = list.iter().find(|u| u.id == editing()).cloned();
                            view! {
                                {list.is_empty().then(|| view! { <p>"Aucun service n'est encore créé."</p> })}
                                {(!list.is_empty()).then(|| view! {
                                    <ScrollTable label="Services">
                                        <table>
                                            <caption>"Services"</caption>
                                            <thead><tr>
                                                <th scope="col">"Code"</th><th scope="col">"Libellé"</th>
                                                <th scope="col">"Numéro d'engagement obligatoire"</th><th scope="col">"Statut"</th>
                                                <th scope="col">"Actions"</th>
                                            </tr></thead>
                                            <tbody>
                                                {list.clone().into_iter().map(|u| {
                                                    let verb = if u.active { "Désactiver" } else { "Activer" };
                                                    let label = format!("{verb} le service {}", u.code);
                                                    let edit = format!("Modifier le service {}", u.code);
                                                    view! {
                                                        <tr class="service">
                                                            <td>{u.code.clone()}</td><td>{u.libelle.clone()}</td>
                                                            <td>{if u.numero_engagement_obligatoire { "Oui" } else { "Non" }}</td>
                                                            <td>{if u.active { "Actif" } else { "Inactif" }}</td>
                                                            <td class="fr-btns-group--inline-sm">
                                                                // A full page load gives the form fresh fields (the
                                                                // router would patch the attributes but keep what was typed).
                                                                <a href=format!("?modifier={}", u.id) rel="external" class="fr-btn fr-btn--sm fr-btn--tertiary">{edit}</a>
                                                                <ActionForm action=toggle>
                                                                    <input type="hidden" name="organisation_id" value=org_id/>
                                                                    <input type="hidden" name="id" value=u.id/>
                                                                    <input type="hidden" name="active" value=(!u.active).to_string()/>
                                                                    <button type="submit" class="fr-btn fr-btn--sm fr-btn--secondary">{label}</button>
                                                                </ActionForm>
                                                            </td>
                                                        </tr>
                                                    }
                                                }).collect::<Vec<_>>()}
                                            </tbody>
                                        </table>
                                    </ScrollTable>
                                })}
                                <h2 class="fr-mt-4w">{if current.is_some() { "Modifier le service" } else { "Créer un service" }}</h2>
                                {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <Success>"Le service est enregistré."</Success> })}
                                <ActionForm action=save>
                                    <FormAlert error=err/>
                                    <input type="hidden" name="organisation_id" value=org_id/>
                                    <input type="hidden" name="id" value=current.as_ref().map(|u| u.id).unwrap_or(0)/>
                                    <Field label="Code" name="code" hint="Unique dans la structure : lettres, chiffres, « - » et « _ »" required=true
                                        value=current.as_ref().map(|u| u.code.clone()).unwrap_or_default() error=err/>
                                    <Field label="Libellé" name="libelle" required=true
                                        value=current.as_ref().map(|u| u.libelle.clone()).unwrap_or_default() error=err/>
                                    <div class="fr-checkbox-group fr-mb-3w">
                                        <input type="checkbox" id="champ-numero-engagement" name="numero_engagement_obligatoire" value="oui"
                                            checked=current.as_ref().map(|u| u.numero_engagement_obligatoire).unwrap_or(false)/>
                                        <label class="fr-label" for="champ-numero-engagement">"Numéro d'engagement obligatoire"</label>
                                    </div>
                                    <button type="submit" class="fr-btn">"Enregistrer le service"</button>
                                </ActionForm>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}
