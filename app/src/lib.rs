//! Habilitations: who may do what on the online services of a public body
//! and its partner organisations. Routes, page shell and header.
#![recursion_limit = "256"]

pub mod admins;
pub mod agents;
pub mod audit;
pub mod auth;
pub mod catalogue;
#[cfg(feature = "ssr")]
pub mod client_ip;
pub mod conventions;
pub mod domain;
pub mod error;
pub mod groups;
pub mod home;
pub mod import;
pub mod journal;
pub mod json;
pub mod mail;
pub mod organisations;
pub mod requests;
pub mod rights;
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;
pub mod staff;
#[cfg(feature = "ssr")]
pub mod state;
pub mod ui;
pub mod units;
pub mod users;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::hooks::use_location;
use leptos_router::{path, Lazy, SsrMode};

// Every screen is a lazy route: `cargo leptos build --split` puts its code
// (views, server-function calls, the (de)serialisers of its data) in a
// WebAssembly chunk of its own, which the browser fetches with the page
// (the server names it in a preload link) or on first navigation to it.
// The first load is the shell, the header and the one screen asked for.
macro_rules! lazy_pages {
    ($($route:ident => $page:path),* $(,)?) => { $(
        struct $route;
        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }
            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )* };
}

lazy_pages! {
    HomeRoute => home::HomePage,
    LoginRoute => auth::LoginPage,
    SignupRoute => auth::SignupPage,
    VerifyEmailRoute => auth::VerifyEmailPage,
    ConfirmEmailChangeRoute => users::ConfirmEmailChangePage,
    ForgotPasswordRoute => auth::ForgotPasswordPage,
    ResetPasswordRoute => auth::ResetPasswordPage,
    StructuresRoute => organisations::StructuresPage,
    TransferRoute => admins::TransferPage,
    AgentsRoute => agents::AgentsPage,
    UnitsRoute => units::UnitsPage,
    NewAgentRoute => users::NewAgentPage,
    AgentRoute => users::AgentPage,
    ImportRoute => import::ImportPage,
    InvitationRoute => users::InvitationPage,
    OrgServicesRoute => conventions::OrgServicesPage,
    OrgJournalRoute => journal::OrgJournalPage,
    OperatorJournalRoute => journal::OperatorJournalPage,
    MyRequestsRoute => requests::MyRequestsPage,
    NewRequestRoute => requests::NewRequestPage,
    ServiceUsersRoute => service::ServiceUsersPage,
    UserCardRoute => service::UserCardPage,
    OperatorOrganisationsRoute => admins::OperatorOrganisationsPage,
    OperatorOrganisationRoute => admins::OperatorOrganisationPage,
    MailboxRoute => mail::MailboxPage,
    ConventionsRoute => conventions::ConventionsPage,
    ConventionRoute => conventions::ConventionPage,
    GroupsRoute => groups::GroupsPage,
    GroupRoute => groups::GroupPage,
    GroupRightsRoute => groups::GroupRightsPage,
    MembershipsRoute => groups::MembershipsPage,
    DecisionsRoute => requests::DecisionsPage,
    StaffRoute => staff::StaffPage,
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="fr" data-fr-scheme="light">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="format-detection" content="telephone=no"/>
                <link rel="icon" href="/dsfr/favicon/favicon.svg" type="image/svg+xml"/>
                // The three Marianne weights the screens use, fetched at once
                // rather than once the stylesheet is read.
                <link rel="preload" href="/dsfr/fonts/Marianne-Regular.woff2" r#as="font" type="font/woff2" crossorigin="anonymous"/>
                <link rel="preload" href="/dsfr/fonts/Marianne-Medium.woff2" r#as="font" type="font/woff2" crossorigin="anonymous"/>
                <link rel="preload" href="/dsfr/fonts/Marianne-Bold.woff2" r#as="font" type="font/woff2" crossorigin="anonymous"/>
                // Only the DSFR styles and icons the screens use
                // (scripts/dsfr_subset.py).
                <link rel="stylesheet" href="/dsfr/dsfr.min.css"/>
                <link rel="stylesheet" href="/dsfr/utility/icons/icons.min.css"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/habilitations.css"/>
        <Title text="Habilitations"/>
        <Router>
            <Header/>
            <main id="contenu" tabindex="-1">
                // Async SSR: every page arrives complete, so it reads (and its
                // forms work) before the WASM has loaded or without JavaScript.
                <Routes fallback=NotFound>
                    <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/connexion") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/inscription") view={Lazy::<SignupRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/compte/verifier") view={Lazy::<VerifyEmailRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/compte/confirmer-adresse") view={Lazy::<ConfirmEmailChangeRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/mot-de-passe-oublie") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/mot-de-passe/nouveau") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures") view={Lazy::<StructuresRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/transfert") view={Lazy::<TransferRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/agents") view={Lazy::<AgentsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/services") view={Lazy::<UnitsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/nouvel-agent") view={Lazy::<NewAgentRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/agents/:user") view={Lazy::<AgentRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/import") view={Lazy::<ImportRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/invitation") view={Lazy::<InvitationRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/operateur/structures/:org/demarches") view={Lazy::<OrgServicesRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/journal") view={Lazy::<OrgJournalRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/operateur/journal") view={Lazy::<OperatorJournalRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/demandes") view={Lazy::<MyRequestsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/demandes/nouvelle") view={Lazy::<NewRequestRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/demarches/:app/utilisateurs") view={Lazy::<ServiceUsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/demarches/:app/utilisateurs/:user") view={Lazy::<UserCardRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/operateur/structures") view={Lazy::<OperatorOrganisationsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/operateur/structures/:org") view={Lazy::<OperatorOrganisationRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/dev/mailbox") view={Lazy::<MailboxRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/conventions") view={Lazy::<ConventionsRoute>::new()} ssr=SsrMode::Async/>
                    // « nouvelle » reads as id 0: the blank form.
                    <Route path=path!("/conventions/:id") view={Lazy::<ConventionRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/groupes") view={Lazy::<GroupsRoute>::new()} ssr=SsrMode::Async/>
                    // « nouveau » reads as id 0: the blank form.
                    <Route path=path!("/structures/:org/groupes/:group") view={Lazy::<GroupRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/groupes/:group/habilitations") view={Lazy::<GroupRightsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/groupes/:group/utilisateurs") view={Lazy::<MembershipsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/agents/:user/groupes") view={Lazy::<MembershipsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/structures/:org/demandes") view={Lazy::<DecisionsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/operateur/agents") view={Lazy::<StaffRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
            <Footer/>
        </Router>
    }
}

/// "Page introuvable", with its 404 status (unknown routes, and pages
/// hidden from the caller such as the development mailbox).
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <div class="fr-container fr-my-6w">
            <h1>"Page introuvable"</h1>
            <p>"La page que vous cherchez n'existe pas ou a été déplacée."</p>
            <A href="/">"Retour à mes démarches"</A>
        </div>
    }
}

/// Moves the keyboard focus to an element of the header, once the change
/// that shows it is drawn.
fn focus(id: &'static str) {
    request_animation_frame(move || {
        use leptos::wasm_bindgen::JsCast;
        if let Some(el) = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}

#[component]
fn Header() -> impl IntoView {
    let location = use_location();
    // Re-read on navigation so that login/logout show at once.
    let user = Resource::new(move || location.pathname.get(), |_| auth::me());
    let logout = ServerAction::<auth::Logout>::new();
    let menu_open = RwSignal::new(false);
    // A link followed from the menu closes it.
    Effect::new(move |_| {
        location.pathname.track();
        menu_open.set(false);
    });
    view! {
        <div class="fr-skiplinks">
            <nav class="fr-container" role="navigation" aria-label="Accès rapide">
                <ul class="fr-skiplinks__list"><li><a class="fr-link" href="#contenu">"Contenu"</a></li></ul>
            </nav>
        </div>
        // One Transition for the whole header (it keeps what it shows while
        // `me` is read again on navigation): the tools and the menu depend
        // on the same answer, and the menu is for signed-in people only.
        <header role="banner" class="fr-header">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let me = user.await.ok().flatten();
                    let signed_in = me.is_some();
                    // The tools are shown twice: at the top right on wide
                    // screens, in the menu (the burger's) on narrow ones;
                    // the DSFR shows one or the other.
                    let tools = move |me: Option<auth::SessionUser>, place: &'static str| match me {
                        Some(u) => view! {
                            <ul class="fr-btns-group">
                                {(u.organisations.len() > 1).then(|| view! { <li><users::OrganisationSwitcher user=u.clone() place=place/></li> })}
                                {u.is_operator.then(|| view! {
                                    <li><A href="/operateur/structures" attr:class="fr-btn fr-icon-settings-5-line">"Administration"</A></li>
                                })}
                                <li><span class="fr-btn fr-icon-account-circle-line utilisateur-connecte">{format!("{} {}", u.prenom, u.nom)}</span></li>
                                <li>
                                    <ui::PostForm action=logout args=|_: &web_sys::FormData| auth::Logout {}>
                                        <button type="submit" class="fr-btn fr-icon-logout-box-r-line">"Se déconnecter"</button>
                                    </ui::PostForm>
                                </li>
                            </ul>
                        }.into_any(),
                        None => view! {
                            <ul class="fr-btns-group">
                                <li><A href="/connexion" attr:class="fr-btn fr-icon-lock-line">"Se connecter"</A></li>
                                <li><A href="/inscription" attr:class="fr-btn fr-icon-account-line">"Se créer un compte"</A></li>
                            </ul>
                        }.into_any(),
                    };
                    view! {
                        <div class="fr-header__body">
                            <div class="fr-container">
                                <div class="fr-header__body-row">
                                    <div class="fr-header__brand fr-enlarge-link">
                                        <div class="fr-header__brand-top">
                                            <div class="fr-header__logo">
                                                <p class="fr-logo">"République" <br/> "Française"</p>
                                            </div>
                                            <div class="fr-header__navbar">
                                                <button type="button" class="fr-btn--menu fr-btn" id="bouton-menu" aria-controls="menu-principal"
                                                    aria-haspopup="dialog" aria-expanded=move || if menu_open.get() { "true" } else { "false" }
                                                    title="Menu" on:click=move |_| { menu_open.set(true); focus("menu-fermer") }>"Menu"</button>
                                            </div>
                                        </div>
                                        <div class="fr-header__service">
                                            <A href="/" attr:title="Accueil — Habilitations">
                                                <p class="fr-header__service-title">"Habilitations"</p>
                                            </A>
                                            <p class="fr-header__service-tagline">"Vos accès aux démarches en ligne"</p>
                                        </div>
                                    </div>
                                    <div class="fr-header__tools">
                                        <div class="fr-header__tools-links">{tools(me.clone(), "entete")}</div>
                                    </div>
                                </div>
                            </div>
                        </div>
                        // The menu: a bar on wide screens, a dialog opened by
                        // « Menu » on narrow ones (closed on navigation).
                        <div class="fr-header__menu fr-modal" class:fr-modal--opened=move || menu_open.get() id="menu-principal"
                            aria-labelledby=move || menu_open.get().then_some("bouton-menu")
                            role=move || menu_open.get().then_some("dialog") aria-modal=move || menu_open.get().then_some("true")
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { menu_open.set(false); focus("bouton-menu") }>
                            <div class="fr-container">
                                <button type="button" class="fr-btn--close fr-btn" id="menu-fermer" aria-controls="menu-principal" title="Fermer le menu"
                                    on:click=move |_| { menu_open.set(false); focus("bouton-menu") }>"Fermer"</button>
                                <div class="fr-header__menu-links">{tools(me, "menu")}</div>
                                {signed_in.then(|| view! {
                                    <nav class="fr-nav" role="navigation" aria-label="Menu principal">
                                        <ul class="fr-nav__list">
                                            <li class="fr-nav__item"><A href="/" attr:class="fr-nav__link">"Mes démarches"</A></li>
                                            <li class="fr-nav__item"><A href="/structures" attr:class="fr-nav__link">"Mes structures"</A></li>
                                            <li class="fr-nav__item"><A href="/demandes" attr:class="fr-nav__link">"Mes demandes"</A></li>
                                        </ul>
                                    </nav>
                                })}
                            </div>
                        </div>
                    }
                })}
            </Transition>
        </header>
    }
}

#[component]
fn Footer() -> impl IntoView {
    view! {
        <footer class="fr-footer" role="contentinfo">
            <div class="fr-container">
                <div class="fr-footer__body">
                    <div class="fr-footer__brand">
                        <p class="fr-logo">"République" <br/> "Française"</p>
                    </div>
                    <div class="fr-footer__content">
                        <p class="fr-footer__content-desc">"Habilitations : gérez qui peut faire quoi sur les démarches en ligne de votre structure."</p>
                    </div>
                </div>
            </div>
        </footer>
    }
}
