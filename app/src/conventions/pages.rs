//! Operator screen "Démarches activées" of a structure.
use super::*;
use crate::ui::{action_error, FormAlert, Success};
use leptos::form::ActionForm;
use std::collections::BTreeSet;

#[component]
pub fn OrgServicesPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let save = ServerAction::<SetOrgService>::new();
    let err = action_error(save);
    let data = Resource::new(
        move || (org(), save.version().get()),
        |(o, _)| org_services(o),
    );
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(s) => {
                            let org_id = org();
                            view! {
                                <h1>"Démarches activées"</h1>
                                <p class="fr-text--lead">{s.organisation.clone()} " — SIRET " {s.siret.clone()}</p>
                                <p>
                                    "Cochez les rôles que la structure peut attribuer sur chaque démarche (sa convention). "
                                    "Une démarche sans rôle coché est désactivée : les habilitations et demandes en cours sur un rôle retiré prennent fin aussitôt."
                                </p>
                                <FormAlert error=err/>
                                {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! {
                                    <Success>"Les démarches de la structure ont été enregistrées."</Success>
                                })}
                                {s.applications.into_iter().map(|a| view! { <ActivationForm org_id a save/> }).collect::<Vec<_>>()}
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn ActivationForm(org_id: i64, a: Activation, save: ServerAction<SetOrgService>) -> impl IntoView {
    let saved: BTreeSet<i64> = a.roles.iter().filter(|r| r.allowed).map(|r| r.id).collect();
    let chosen = RwSignal::new(saved);
    let joined = move || {
        chosen
            .get()
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let legend_id = format!("demarche-{}", a.code);
    let labelled_by = legend_id.clone();
    let code = a.code.clone();
    let title = a.libelle.clone();
    view! {
        <section class="fr-card fr-card--no-arrow fr-p-3w fr-mb-3w demarche" data-app=a.code.clone()>
            <ActionForm action=save>
                <input type="hidden" name="organisation_id" value=org_id/>
                <input type="hidden" name="application_id" value=a.application_id/>
                <input type="hidden" name="role_ids" value=joined/>
                <fieldset class="fr-fieldset" aria-labelledby=labelled_by>
                    <legend class="fr-fieldset__legend" id=legend_id>
                        <h2 class="fr-h5 fr-mb-1v">{a.libelle.clone()}</h2>
                        <span class="fr-hint-text">
                            {a.description.clone()} " — "
                            {if a.active { "activée" } else { "non activée" }}
                        </span>
                    </legend>
                    {a.roles.into_iter().map(|r| {
                        let id = format!("role-{}-{}", code, r.id);
                        let rid = r.id;
                        view! {
                            <div class="fr-fieldset__element fr-fieldset__element--inline">
                                <div class="fr-checkbox-group">
                                    <input type="checkbox" id=id.clone()
                                        prop:checked=move || chosen.get().contains(&rid)
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            chosen.update(|s| { if on { s.insert(rid); } else { s.remove(&rid); } });
                                        }/>
                                    <label class="fr-label" for=id>{r.libelle}</label>
                                </div>
                            </div>
                        }
                    }).collect::<Vec<_>>()}
                </fieldset>
                <button type="submit" class="fr-btn fr-btn--sm">"Enregistrer " {title}</button>
            </ActionForm>
        </section>
    }
}
