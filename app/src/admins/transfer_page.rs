//! Screen "Transférer le rôle de gestionnaire principal": the three modes of
//! Chorus Pro as radio buttons, the organisations, the new manager(s).
use super::pages::PersonSelect;
use super::*;
use crate::error::AppError;
use crate::ui::{action_error, ErrorNotice, FormAlert, Success};
use leptos::form::ActionForm;
use leptos_router::hooks::use_query_map;

const MODES: [(&str, &str, &str); 3] = [
    (
        "partie",
        "Transfert d'une partie de vos structures",
        "Les structures cochées passent à un même nouveau gestionnaire.",
    ),
    (
        "toutes",
        "Transfert de toutes vos structures vers un seul gestionnaire",
        "Toutes vos structures passent au même nouveau gestionnaire.",
    ),
    (
        "chacune",
        "Transfert de toutes vos structures vers plusieurs gestionnaires",
        "Chaque structure passe au gestionnaire choisi pour elle.",
    ),
];

#[component]
pub fn TransferPage() -> impl IntoView {
    let query = use_query_map();
    let depuis = move || {
        query
            .get()
            .get("depuis")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let transfer = ServerAction::<TransferPrimaryManager>::new();
    let err = action_error(transfer);
    let data = Resource::new(
        move || (depuis(), transfer.version().get()),
        |(d, _)| transfer_choices(d),
    );
    let (mode, set_mode) = signal("partie".to_string());
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Transférer le rôle de gestionnaire principal"</h1>
            {move || match transfer.value().get() {
                Some(Ok(n)) => Some(view! {
                    <Success>{format!(
                        "Le rôle de gestionnaire principal est transféré pour {n} structure{} ; un courriel prévient chaque nouveau gestionnaire.",
                        if n > 1 { "s" } else { "" }
                    )}</Success>
                }),
                _ => None,
            }}
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        Ok(setup) if setup.organisations.is_empty() => view! {
                            <p>{if setup.for_other {
                                format!("{} n'est gestionnaire principal d'aucune structure active.", setup.manager)
                            } else {
                                "Vous n'êtes gestionnaire principal d'aucune structure active.".to_string()
                            }}</p>
                        }.into_any(),
                        Ok(setup) => view! { <TransferForm setup=setup action=transfer error=err mode=mode set_mode=set_mode/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn TransferForm(
    setup: TransferSetup,
    action: ServerAction<TransferPrimaryManager>,
    error: Signal<Option<AppError>>,
    mode: ReadSignal<String>,
    set_mode: WriteSignal<String>,
) -> impl IntoView {
    // Everyone attached to at least one of the organisations (modes a, b).
    let mut everyone: Vec<Member> = setup
        .organisations
        .iter()
        .flat_map(|o| o.members.iter().cloned())
        .collect();
    everyone.sort_by(|a, b| (&a.nom, &a.prenom, a.id).cmp(&(&b.nom, &b.prenom, b.id)));
    everyone.dedup_by_key(|m| m.id);
    let field_msg = move |name: &'static str| move || error.get().and_then(|e| e.field(name));
    let is = move |m: &'static str| move || mode.get() == m;
    let structures_msg = field_msg("structures");
    let chacune_msg = field_msg("gestionnaires");
    view! {
        <p>
            "Le nouveau gestionnaire principal est à choisir parmi les personnes déjà rattachées à la structure. "
            {if setup.for_other {
                format!("Vous agissez pour {}, gestionnaire principal actuel.", setup.manager)
            } else {
                "Vous restez rattaché à la structure, comme simple membre ou comme administrateur si vous le demandez.".to_string()
            }}
        </p>
        <ActionForm action=action>
            <FormAlert error=error/>
            <input type="hidden" name="depuis" value=setup.manager_id/>
            <fieldset class="fr-fieldset" id="champ-mode" aria-labelledby="mode-legend">
                <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="mode-legend">"Type de transfert"</legend>
                {MODES.iter().map(|(code, label, hint)| {
                    let id = format!("mode-{code}");
                    view! {
                        <div class="fr-fieldset__element">
                            <div class="fr-radio-group">
                                <input type="radio" id=id.clone() name="mode" value=*code checked=mode.get_untracked() == *code
                                    on:change=move |_| set_mode.set(code.to_string())/>
                                <label class="fr-label" for=id>{*label} " " <span class="fr-hint-text">{*hint}</span></label>
                            </div>
                        </div>
                    }
                }).collect::<Vec<_>>()}
            </fieldset>

            // DSFR's fieldset sets `display`, which beats `hidden`: the
            // wrapper hides it.
            <div hidden=move || !is("partie")()>
            <fieldset class="fr-fieldset" class:fr-fieldset--error=move || structures_msg().is_some()
                id="champ-structures" aria-labelledby="structures-legend">
                <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="structures-legend">"Structures concernées"</legend>
                {setup.organisations.iter().map(|o| {
                    let id = format!("structure-{}", o.id);
                    view! {
                        <div class="fr-fieldset__element">
                            <div class="fr-checkbox-group">
                                <input type="checkbox" id=id.clone() name=format!("structures[{}]", o.id) value="oui"/>
                                <label class="fr-label" for=id>{o.nom.clone()} " " <span class="fr-hint-text">{format!("SIRET {}", o.siret)}</span></label>
                            </div>
                        </div>
                    }
                }).collect::<Vec<_>>()}
                {move || structures_msg().map(|m| view! { <div class="fr-messages-group"><p class="fr-message fr-message--error">{m}</p></div> })}
            </fieldset>
            </div>

            <div hidden=move || !is("toutes")()>
                <p>"Structures transférées : " {setup.organisations.iter().map(|o| o.nom.clone()).collect::<Vec<_>>().join(", ")} "."</p>
            </div>

            <div class="fr-mb-3w" hidden=is("chacune")>
                <PersonSelect label="Nouveau gestionnaire principal" name="user_id" id="champ-user_id"
                    hint=Some("Une personne rattachée à chaque structure transférée".to_string())
                    people=everyone error=error/>
            </div>

            <div class="fr-mb-3w" hidden=move || !is("chacune")()>
                <p id="champ-gestionnaires">"Choisissez le nouveau gestionnaire de chaque structure à transférer ; laissez « Ne pas transférer » pour les autres."</p>
                {move || chacune_msg().map(|m| view! { <p class="fr-error-text">{m}</p> })}
                {setup.organisations.iter().map(|o| {
                    let name = crate::admins::manager_field(o.id);
                    view! {
                        <PersonSelect label=format!("Nouveau gestionnaire de {} (SIRET {})", o.nom, o.siret)
                            name=name id=format!("gestionnaire-{}", o.id) placeholder="Ne pas transférer"
                            people=o.members.clone() error=error/>
                    }
                }).collect::<Vec<_>>()}
            </div>

            <div class="fr-checkbox-group fr-mb-3w">
                <input type="checkbox" id="champ-rester_administrateur" name="rester_administrateur" value="oui"/>
                <label class="fr-label" for="champ-rester_administrateur">
                    {if setup.for_other { "L'ancien gestionnaire reste administrateur des structures transférées" } else { "Rester administrateur des structures transférées" }}
                </label>
                {move || error.get().and_then(|e| e.field("rester_administrateur")).map(|m| view! { <p class="fr-error-text">{m}</p> })}
            </div>
            <button type="submit" class="fr-btn">"Soumettre"</button>
        </ActionForm>
    }
}
