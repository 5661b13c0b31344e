//! Screen "Importer des utilisateurs".
use super::*;
use crate::error::AppError;
use crate::ui::ScrollTable;
use leptos::web_sys::{FormData, HtmlFormElement, SubmitEvent};
use leptos_router::components::A;

#[component]
pub fn ImportPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let upload = Action::new_local(|data: &FormData| import_agents(data.clone().into()));
    let confirm = RwSignal::new(false);
    let form_ref = NodeRef::<leptos::html::Form>::new();
    let send = move |apply: bool| {
        if let Some(form) = form_ref.get() {
            let el: &HtmlFormElement = &form;
            if let Ok(data) = FormData::new_with_form(el) {
                let _ = data.set_with_str("confirmer", if apply { "1" } else { "0" });
                confirm.set(apply);
                upload.dispatch_local(data);
            }
        }
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        send(false);
    };
    let error = Signal::derive(move || {
        upload
            .value()
            .get()
            .and_then(|r: AppResult<ImportReport>| r.err())
    });
    let report = move || upload.value().get().and_then(|r| r.ok());
    let file_error = Memo::new(move |_| error.get().and_then(|e: AppError| e.field("fichier")));
    view! {
        <div class="fr-container fr-my-4w">
            <p><A href=move || format!("/structures/{}/agents", org())>"Retour à la liste des agents"</A></p>
            <h1>"Importer des utilisateurs"</h1>
            <p>
                "Partez du " <a href="/modele-import-utilisateurs.csv" download="modele-import-utilisateurs.csv">"modèle de fichier (CSV)"</a>
                " : une personne par ligne. Le fichier peut être enregistré par Excel (séparateur « ; » ou « , », UTF-8 ou Windows-1252). "
                "Le fichier est d'abord vérifié sans rien enregistrer ; l'import n'a lieu que si toutes les lignes sont valides, et toutes ensemble. "
                "Les personnes sans compte reçoivent une invitation pour choisir leur mot de passe. "
                "La colonne facultative « Code groupe » place la personne dans un groupe d'utilisateurs ouvert de la structure : elle en reçoit les rôles."
            </p>
            <crate::ui::FormAlert error=error/>
            <form node_ref=form_ref on:submit=on_submit>
                <input type="hidden" name="organisation_id" value=org/>
                <div class="fr-upload-group" class:fr-input-group--error=move || file_error.get().is_some()>
                    <label class="fr-label" for="champ-fichier">
                        "Fichier CSV des utilisateurs"
                        <span class="fr-hint-text">"Format .csv, 2 Mo au plus, 5 000 lignes au plus."</span>
                    </label>
                    <input class="fr-upload" type="file" id="champ-fichier" name="fichier" accept=".csv,text/csv"
                        aria-describedby=move || file_error.get().map(|_| "champ-fichier-erreur")/>
                    {move || file_error.get().map(|m| view! { <p id="champ-fichier-erreur" class="fr-error-text">{m}</p> })}
                </div>
                <ul class="fr-btns-group fr-btns-group--inline fr-mt-3w">
                    <li><button type="submit" class="fr-btn fr-btn--secondary" disabled=move || upload.pending().get()>"Vérifier le fichier"</button></li>
                </ul>
            </form>
            {move || report().map(|r| {
                let ok = r.errors == 0;
                let total = r.lines.len();
                view! {
                    {if r.applied {
                        view! { <crate::ui::Success>{format!("Import terminé : {} invitation(s) envoyée(s), {} mise(s) à jour, {} ligne(s) inchangée(s).", r.count("invitation"), r.count("mise à jour"), r.count("inchangé"))}</crate::ui::Success> }.into_any()
                    } else if ok {
                        view! {
                            <div class="fr-alert fr-alert--info fr-alert--sm fr-mb-3w" role="status">
                                <p>{format!("Vérification terminée : {total} ligne(s) valide(s), rien n'a encore été enregistré.")}</p>
                            </div>
                            <button type="button" class="fr-btn fr-mb-3w" on:click=move |_| send(true) disabled=move || upload.pending().get()>
                                {format!("Importer les {total} ligne(s)")}
                            </button>
                        }.into_any()
                    } else {
                        view! {
                            <div class="fr-alert fr-alert--error fr-alert--sm fr-mb-3w" role="alert">
                                <p>{format!("{} ligne(s) en erreur : rien n'a été enregistré. Corrigez le fichier puis vérifiez-le de nouveau.", r.errors)}</p>
                            </div>
                        }.into_any()
                    }}
                    <ScrollTable label="Compte rendu, ligne par ligne">
                        <table>
                            <caption>"Compte rendu, ligne par ligne"</caption>
                            <thead><tr>
                                <th scope="col">"Ligne"</th><th scope="col">"Personne"</th><th scope="col">"Adresse mail"</th>
                                <th scope="col">"Résultat"</th><th scope="col">"Motif"</th>
                            </tr></thead>
                            <tbody>
                                {r.lines.into_iter().map(|l| { let failed = l.outcome == "erreur"; view! {
                                    <tr class="ligne-import" class:ligne-erreur=failed>
                                        <td>{l.line}</td><td>{l.nom}</td><td>{l.email}</td>
                                        <td>{l.outcome}</td><td>{l.message}</td>
                                    </tr>
                                }}).collect::<Vec<_>>()}
                            </tbody>
                        </table>
                    </ScrollTable>
                }
            })}
        </div>
    }
}
