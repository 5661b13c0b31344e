import { test, expect, Page } from "@playwright/test";
import { checkA11y, email, hydrated, logIn, signUp, visit, registerOrganisation } from "./helpers";

// What a first-time administrator stumbled on (issue 8, points 2 to 5).
const RENNES_REPUBLIQUE = "35600000049837";
const AFDAS = "78471400800165";

async function api(page: Page, endpoint: string, form: Record<string, string>) {
  const resp = await page.request.post(`/api/${endpoint}`, { form, headers: { accept: "application/json" } });
  expect(resp.ok(), `${endpoint}: ${await resp.text()}`).toBeTruthy();
  return resp.json();
}

/** The page itself never scrolls sideways (a table's own container may). */
async function expectNoPageOverflow(page: Page, width: number) {
  await page.setViewportSize({ width, height: 900 });
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(scroll, `page overflow at ${width} px`).toBeLessThanOrEqual(client);
}

async function box(page: Page, selector: string) {
  const b = await page.locator(selector).first().boundingBox();
  expect(b, selector).toBeTruthy();
  return b!;
}

test("Liste des agents, Créer un utilisateur, tabs in the address, journal filters", async ({ page }) => {
  test.setTimeout(150_000);
  const manager = { email: email("premiers-pas"), prenom: "Lucie", nom: "Premiers" };
  await signUp(page, manager);
  await logIn(page, manager.email);
  await registerOrganisation(page, RENNES_REPUBLIQUE);
  await page.getByRole("link", { name: "Liste des agents" }).first().click();
  // The screen is a lazy route: the address changes once its chunk is in.
  await page.waitForURL(/structures\/\d+\/agents/);
  const org = page.url().match(/structures\/(\d+)\/agents/)![1];
  await api(page, "save_unit", { organisation_id: org, code: "FACT", libelle: "Facturation" });

  // Point 3: « Valider » shows what was done; no form is left to submit twice.
  await visit(page, `/structures/${org}/nouvel-agent`);
  const agent = { email: email("nouvel-agent"), prenom: "Hugo", nom: "Facturier" };
  await page.getByLabel("Nom", { exact: true }).fill(agent.nom);
  await page.getByLabel("Prénom").fill(agent.prenom);
  await page.getByLabel("Adresse mail", { exact: true }).fill(agent.email);
  await page.getByLabel("Confirmer l'adresse mail").fill(agent.email);
  await page.getByLabel("Niveau de rattachement").selectOption({ label: "Service FACT — Facturation" });
  await page.getByRole("button", { name: "Valider" }).click();
  const sent = page.locator("section.invitation-envoyee");
  await expect(sent).toBeVisible();
  await expect(sent).toContainText(agent.nom);
  await expect(sent).toContainText(agent.email.toLowerCase());
  await expect(sent).toContainText("Service FACT — Facturation");
  await expect(sent).toContainText("Invitation en attente");
  await expect(page.getByRole("button", { name: "Valider" })).toHaveCount(0);
  await expect(page.getByLabel("Adresse mail", { exact: true })).toHaveCount(0);
  await checkA11y(page, "agent-cree-1280");
  await page.setViewportSize({ width: 390, height: 844 });
  await checkA11y(page, "agent-cree-390");
  await page.setViewportSize({ width: 1280, height: 900 });
  // « Créer un autre utilisateur » brings an empty form back.
  await page.getByRole("button", { name: "Créer un autre utilisateur" }).click();
  await expect(page.getByLabel("Adresse mail", { exact: true })).toHaveValue("");

  // Long names and addresses, at structure level.
  for (const i of [1, 2, 3]) {
    const long = email(`mc.fontaine-longuenesse-${i}`);
    await api(page, "create_agent", {
      organisation_id: org, civilite: "Mme", nom: `De La Fontaine-Longuenesse ${i}`, prenom: "Marie-Christine",
      email: long, email_confirmation: long, telephone: "0299000000", telephone_confirmation: "0299000000",
    });
  }

  // Point 2: the page never overflows; the table scrolls in its own box.
  await visit(page, `/structures/${org}/agents`);
  await expect(page.locator("tr.agent")).toHaveCount(5);
  for (const width of [1280, 1024]) {
    await expectNoPageOverflow(page, width);
    // The buttons stand apart from the filters.
    const buttons = await box(page, ".barre-actions");
    const filters = await box(page, "fieldset.filtres");
    expect(buttons.y + buttons.height, `buttons above the filters at ${width} px`).toBeLessThan(filters.y);
    await checkA11y(page, `liste-des-agents-${width}`);
  }
  // The service column.
  await expect(page.getByRole("columnheader", { name: "Service" })).toBeVisible();
  const row = page.locator("tr.agent", { hasText: agent.email.toLowerCase() });
  await expect(row).toContainText("FACT — Facturation");
  await expect(page.locator("tr.agent", { hasText: "De La Fontaine-Longuenesse 1" })).toContainText("—");
  // The actions of a row are in a menu, closed at first.
  await expect(row.getByRole("link", { name: `Modifier la fiche de ${agent.prenom} ${agent.nom}` })).toBeHidden();
  await row.locator("summary", { hasText: "Actions" }).click();
  await expect(row.getByRole("link", { name: `Modifier la fiche de ${agent.prenom} ${agent.nom}` })).toBeVisible();
  await expect(row.getByRole("button", { name: `Renvoyer l'identifiant par mail à ${agent.prenom} ${agent.nom}` })).toBeVisible();
  await checkA11y(page, "liste-des-agents-menu");
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoPageOverflow(page, 390);
  await checkA11y(page, "liste-des-agents-390");
  await page.setViewportSize({ width: 1280, height: 900 });

  // Point 3: the tab is in the address; a reload keeps it.
  await row.getByRole("link", { name: `Voir les rôles de ${agent.prenom} ${agent.nom}` }).click();
  await expect(page.getByRole("heading", { name: `${agent.prenom} ${agent.nom}` })).toBeVisible();
  await hydrated(page);
  await expect(page.getByRole("tab", { name: "Rôles" })).toHaveAttribute("aria-selected", "true");
  await page.getByRole("tab", { name: "Coordonnées" }).click();
  await expect(page).not.toHaveURL(/onglet=roles/);
  await page.getByRole("tab", { name: "Rôles" }).click();
  await expect(page).toHaveURL(/onglet=roles/);
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("tab", { name: "Rôles" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("tabpanel", { name: "Rôles" })).toBeVisible();
  await expect(page.getByRole("tabpanel", { name: "Coordonnées" })).toBeHidden();
  await expectNoPageOverflow(page, 1280);
  await checkA11y(page, "agent-roles-1280");
  await expectNoPageOverflow(page, 390);
  await checkA11y(page, "agent-roles-390");
  await page.setViewportSize({ width: 1280, height: 900 });

  // More of the journal's actions, for its walk (journal-libelles.spec):
  // a change of service, a fiche modified, closed, then reopened.
  const found = await api(page, "list_agents", { organisation_id: org, nom: "De La Fontaine-Longuenesse 1" });
  const marie = found.rows[0];
  const unitId = (await api(page, "list_units", { organisation_id: org }))[0].id;
  await api(page, "set_agent_unit", { organisation_id: org, user_id: String(marie.id), unit_id: String(unitId) });
  const fiche = (telephone: string, dateCloture: string) => ({
    organisation_id: org, user_id: String(marie.id), civilite: "Mme", nom: marie.nom, prenom: marie.prenom,
    email: marie.email, email_confirmation: marie.email, telephone, telephone_confirmation: telephone,
    poste: "itinerant", date_cloture: dateCloture,
  });
  await api(page, "update_agent", fiche("0299111111", ""));
  await api(page, "update_agent", fiche("0299111111", new Date().toISOString().slice(0, 10)));
  await api(page, "update_agent", fiche("0299111111", ""));

  // Point 4: the journal names the service, and its filters line up.
  await visit(page, `/structures/${org}/journal`);
  const events = page.locator("tr.evenement");
  await expect(events.filter({ hasText: "Création d'un utilisateur" }).filter({ hasText: "Service : FACT — Facturation" })).toHaveCount(1);
  await expect(page.locator("tr.evenement", { hasText: /Service : \d/ })).toHaveCount(0);
  await expect(events.filter({ hasText: "Changement de rattachement" })).toContainText("Service : aucun (la structure) → FACT — Facturation");
  await expect(events.filter({ hasText: "Modification d'un utilisateur" }).first()).toContainText("Téléphone : 0299000000 → 0299111111");
  await expect(events.filter({ hasText: "Clôture d'un utilisateur" })).toHaveCount(1);
  await expect(events.filter({ hasText: "Réouverture d'un utilisateur" })).toHaveCount(1);
  const labels = ["filtre-du", "filtre-au", "filtre-acteur", "filtre-action", "filtre-cible"];
  for (const width of [1280, 1024]) {
    await page.setViewportSize({ width, height: 900 });
    const tops = await Promise.all(labels.map(async (id) => (await box(page, `label[for=${id}]`)).y));
    const fields = await Promise.all(labels.map(async (id) => (await box(page, `#${id}`)).y));
    for (const t of tops) expect(Math.abs(t - tops[0]), `labels aligned at ${width} px: ${tops}`).toBeLessThan(2);
    for (const f of fields) expect(Math.abs(f - fields[0]), `fields aligned at ${width} px: ${fields}`).toBeLessThan(2);
    await expectNoPageOverflow(page, width);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await checkA11y(page, "journal-structure-1280");
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoPageOverflow(page, 390);
  await checkA11y(page, "journal-structure-390");
});

// Point 5: a new structure's primary manager sees the démarches they
// administer, marked « Gestion uniquement » (they hold no role on them).
test("a new primary manager sees the démarches of the structure in Mes démarches", async ({ page }) => {
  const manager = { email: email("gestion-afdas"), prenom: "Paul", nom: "Afdas" };
  await signUp(page, manager);
  await logIn(page, manager.email);
  await registerOrganisation(page, AFDAS);
  await visit(page, "/");
  await expect(page.getByText("Vous n'avez encore accès à aucune démarche.")).toHaveCount(0);
  const soffi = page.locator(".tuile[data-app=soffi]");
  await expect(soffi).toBeVisible();
  await expect(soffi).toContainText("Gestion uniquement");
  await expect(soffi.getByRole("link", { name: /Utilisateurs du service/ })).toBeVisible();
  await expectNoPageOverflow(page, 1280);
  await checkA11y(page, "mes-demarches-gestion-1280");
  await expectNoPageOverflow(page, 390);
  await checkA11y(page, "mes-demarches-gestion-390");
  // On a phone the header's links are behind « Menu » (DSFR burger).
  await expect(page.getByRole("link", { name: "Mes structures" })).toBeHidden();
  await page.getByRole("button", { name: "Menu" }).click();
  const menu = page.getByRole("dialog");
  await expect(menu).toBeVisible();
  await expect(menu.getByRole("button", { name: "Se déconnecter" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Fermer" })).toBeFocused();
  await checkA11y(page, "menu-mobile-390");
  await page.keyboard.press("Escape");
  await expect(menu).toBeHidden();
  await expect(page.getByRole("button", { name: "Menu" })).toBeFocused();
  await page.getByRole("button", { name: "Menu" }).click();
  await menu.getByRole("link", { name: "Mes structures" }).click();
  await expect(page.getByRole("heading", { name: "Mes structures" })).toBeVisible();
  await expect(page.getByRole("dialog")).toHaveCount(0);
  // The gear opens the démarche's users (none yet but the page is theirs).
  await page.setViewportSize({ width: 1280, height: 900 });
  await visit(page, "/");
  await soffi.getByRole("link", { name: /Utilisateurs du service/ }).click();
  await expect(page).toHaveURL(/\/demarches\/soffi\/utilisateurs/);
});
