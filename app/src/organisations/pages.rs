//! Screen "Mes structures": mine, register one, find one to join.
use super::*;
use crate::ui::{action_error, Field, FormAlert, Success};
use leptos::form::ActionForm;
use leptos_router::components::A;

#[component]
pub fn StructuresPage() -> impl IntoView {
    let register = ServerAction::<RegisterOrganisation>::new();
    let err = action_error(register);
    let answer = ServerAction::<crate::users::AnswerJoinInvitation>::new();
    let mine = Resource::new(
        move || (register.version().get(), answer.version().get()),
        |_| my_organisations(),
    );
    let (query, set_query) = signal(String::new());
    let found = Resource::new(move || query.get(), search_organisations);
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Mes structures"</h1>
            <crate::users::JoinInvitations answer/>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match mine.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p>"Vous n'êtes rattaché à aucune structure. Enregistrez la vôtre ou recherchez-la pour demander un accès."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            {list.iter().any(|o| o.admin_role == "primary_manager").then(|| view! {
                                <p><A href="/structures/transfert" attr:class="fr-link fr-icon-arrow-right-line fr-link--icon-right">"Transférer le rôle de gestionnaire principal"</A></p>
                            })}
                            <ul class="fr-raw-list">
                                {list.into_iter().map(|o| view! {
                                    <li class="fr-mb-1w structure">
                                        <strong>{o.nom.clone()}</strong> " — SIRET " {o.siret.clone()}
                                        {match o.admin_role.as_str() {
                                            "primary_manager" => Some(view! { " " <span class="fr-badge fr-badge--info fr-badge--sm">"Gestionnaire principal"</span> }),
                                            "org_admin" => Some(view! { " " <span class="fr-badge fr-badge--info fr-badge--sm">"Administrateur"</span> }),
                                            _ => None,
                                        }}
                                        {(!o.admin_role.is_empty()).then(|| view! {
                                            " " <A href=format!("/structures/{}/agents", o.id) attr:class="fr-link fr-ml-2w">"Liste des agents"</A>
                                            " " <A href=format!("/structures/{}/services", o.id) attr:class="fr-link fr-ml-2w">"Services"</A>
                                            " " <A href=format!("/conventions?organisation={}", o.id) attr:class="fr-link fr-ml-2w">"Conventions"</A>
                                            " " <A href=format!("/structures/{}/groupes", o.id) attr:class="fr-link fr-ml-2w">"Groupes"</A>
                                            " " <A href=format!("/structures/{}/demandes", o.id) attr:class="fr-link fr-ml-2w">"Demandes à traiter"</A>
                                            " " <A href=format!("/structures/{}/journal", o.id) attr:class="fr-link fr-ml-2w">"Journal"</A>
                                        })}
                                        {(o.admin_role.is_empty() && o.responsable).then(|| view! {
                                            " " <span class="fr-badge fr-badge--info fr-badge--sm">"Responsable habilitations"</span>
                                            " " <A href=format!("/structures/{}/groupes", o.id) attr:class="fr-link fr-ml-2w">"Mes groupes d'utilisateurs"</A>
                                            " " <A href=format!("/structures/{}/agents", o.id) attr:class="fr-link fr-ml-2w">"Mes utilisateurs"</A>
                                            " " <A href=format!("/structures/{}/demandes", o.id) attr:class="fr-link fr-ml-2w">"Demandes à traiter"</A>
                                        })}
                                    </li>
                                }).collect::<Vec<_>>()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Suspense>

            <h2 class="fr-mt-4w">"Enregistrer une structure"</h2>
            <p>"Le SIRET est vérifié dans la base SIRENE de l'INSEE : l'établissement doit exister et être actif. Vous en deviendrez le gestionnaire principal."</p>
            <ActionForm action=register>
                <FormAlert error=err/>
                {move || matches!(register.value().get(), Some(Ok(_))).then(|| view! { <Success>"La structure est enregistrée : vous en êtes le gestionnaire principal."</Success> })}
                <Field label="SIRET" name="siret" hint="14 chiffres, espaces acceptés" required=true error=err/>
                <button type="submit" class="fr-btn">"Enregistrer la structure"</button>
            </ActionForm>

            <h2 class="fr-mt-4w">"Rechercher une structure existante"</h2>
            <div class="fr-input-group" role="search">
                <label class="fr-label" for="recherche-structure">
                    "SIRET ou nom de la structure" " " <span class="fr-hint-text">"3 caractères au moins ; les résultats s'affichent pendant la saisie"</span>
                </label>
                <input
                    class="fr-input"
                    id="recherche-structure"
                    type="search"
                    on:input=move |ev| set_query.set(event_target_value(&ev))
                    prop:value=query
                />
            </div>
            <Transition fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match found.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(list) => view! {
                            <ul class="fr-raw-list fr-mt-2w" aria-live="polite">
                                {list.into_iter().map(|o| view! {
                                    <li class="fr-mb-1w resultat-structure">
                                        <strong>{o.nom.clone()}</strong> " — SIRET " {o.siret.clone()} " — " {o.adresse.clone()} " "
                                        <A href=format!("/demandes/nouvelle?structure={}", o.id) attr:class="fr-btn fr-btn--sm fr-btn--secondary">
                                            "Demander un accès"
                                        </A>
                                    </li>
                                }).collect::<Vec<_>>()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}
