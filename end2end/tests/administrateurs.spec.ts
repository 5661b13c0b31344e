import { test, expect, Page } from "@playwright/test";
import { PASSWORD, checkA11y, email, hydrated, logIn, person, signUp, visit, registerOrganisation } from "./helpers";

// Organisation administrators (Chorus Pro §2.8): the operator names an
// administrator; the primary manager transfers their role, each structure
// to its own new manager.
const OPERATOR = process.env.HAB_OPERATOR_EMAIL ?? "operateur@e2e.habilitations.test";
const OPERATOR_PASSWORD = process.env.HAB_OPERATOR_PASSWORD ?? PASSWORD;
const CAF = "22575562800289";
const HORIZON = "77827638600787";

async function api(page: Page, endpoint: string, form: Record<string, string>) {
  const resp = await page.request.post(`/api/${endpoint}`, {
    form,
    headers: { accept: "application/json" },
  });
  expect(resp.ok(), `${endpoint}: ${await resp.text()}`).toBeTruthy();
  return resp.json();
}

async function organisationId(page: Page, siret: string): Promise<string> {
  const found = await api(page, "search_organisations", { q: siret });
  return String(found[0].id);
}

/** Attaches `who` to a structure the way the portal does: a request for
 * SOFFi Consultation, accepted by the structure's manager. */
async function attach(who: Page, manager: Page, siret: string) {
  const org = await organisationId(who, siret);
  const roles = await api(who, "list_roles", {});
  const role = roles.find((r: any) => r.application_code === "soffi" && r.role === "Consultation");
  const id = await api(who, "request_access", { organisation_id: org, role_id: String(role.id) });
  await api(manager, "decide_request", { id: String(id), decision: "accepter" });
}

test("the operator names an administrator and the primary manager transfers the role", async ({ browser }) => {
  const tag = Date.now().toString(36).toUpperCase();
  const marie = { email: email("gestionnaire-principale"), prenom: "Marie", nom: `Principale${tag}` };
  const paul = { email: email("paul-admin"), prenom: "Paul", nom: `Adam${tag}` };
  const lucie = { email: email("lucie-admin"), prenom: "Lucie", nom: `Bernard${tag}` };
  const label = (p: typeof paul) => `${p.nom} ${p.prenom} — ${p.email}`;

  const m = await person(browser);
  await signUp(m, marie);
  await logIn(m, marie.email);
  for (const siret of [CAF, HORIZON]) {
    await registerOrganisation(m, siret);
  }
  const p = await person(browser);
  await signUp(p, paul);
  await logIn(p, paul.email);
  const l = await person(browser);
  await signUp(l, lucie);
  await logIn(l, lucie.email);
  await attach(p, m, CAF);
  await attach(p, m, HORIZON);
  await attach(l, m, CAF);

  // The operator finds the structure by SIRET and names Lucie.
  const op = await person(browser);
  await logIn(op, OPERATOR, OPERATOR_PASSWORD);
  await op.getByRole("link", { name: "Administration" }).click();
  await expect(op.getByRole("heading", { name: "Administration des structures" })).toBeVisible();
  await op.getByLabel("Nom ou SIRET de la structure").fill(CAF.slice(0, 9));
  await op.getByRole("button", { name: "Rechercher" }).click();
  const row = op.locator("tr.structure-operateur", { hasText: CAF });
  await expect(row).toContainText(`Marie ${marie.nom}`);
  await expect(row).toContainText("0 sur 2");
  await checkA11y(op, "operateur-structures");
  await row.getByRole("link", { name: /Gérer la structure/ }).click();
  await expect(op.getByRole("heading", { name: "CAISSE D'ALLOCATIONS FAMILIALES DU RHONE" })).toBeVisible();
  await expect(op.locator(".gestionnaire-principal")).toContainText(`Marie ${marie.nom}`);
  await hydrated(op);
  await op.getByLabel("Personne rattachée à la structure").selectOption({ label: label(lucie) });
  await op.getByRole("button", { name: "Nommer administrateur" }).click();
  await expect(op.getByText("L'administrateur est nommé")).toBeVisible();
  await expect(op.locator("tr.administrateur", { hasText: lucie.email })).toBeVisible();
  await expect(op.getByRole("heading", { name: "Administrateurs (1 sur 2)" })).toBeVisible();

  // With a limit of one, a second administrator is refused next to the field.
  await op.getByLabel("Nombre maximal d'administrateurs Entre 1 et 10").fill("1");
  await op.getByRole("button", { name: "Enregistrer la limite" }).click();
  await expect(op.getByRole("heading", { name: "Administrateurs (1 sur 1)" })).toBeVisible();
  await op.getByLabel("Personne rattachée à la structure").selectOption({ label: label(paul) });
  await op.getByRole("button", { name: "Nommer administrateur" }).click();
  await expect(op.locator("#champ-user_id-erreur")).toHaveText(
    "Cette structure a déjà 1 administrateur : retirez-en un ou relevez la limite.",
  );
  await checkA11y(op, "operateur-structure");

  // Lucie now manages the structure, without any role on the online services.
  await visit(l, "/structures");
  await expect(l.locator("li.structure", { hasText: "CAISSE D'ALLOCATIONS" })).toContainText("Administrateur");

  // The primary manager transfers: first to someone not attached everywhere…
  await visit(m, "/structures");
  await m.getByRole("link", { name: "Transférer le rôle de gestionnaire principal" }).click();
  await expect(m.getByRole("heading", { name: "Transférer le rôle de gestionnaire principal" })).toBeVisible();
  await hydrated(m);
  await checkA11y(m, "transfert-gestionnaire");
  await m.locator("label[for=mode-toutes]").click();
  await expect(m.getByRole("group", { name: "Structures concernées" })).toBeHidden();
  await expect(m.getByText("Structures transférées : CAISSE D'ALLOCATIONS")).toBeVisible();
  await m.getByLabel("Nouveau gestionnaire principal").selectOption({ label: label(lucie) });
  await m.getByRole("button", { name: "Soumettre" }).click();
  await expect(m.locator("#champ-user_id-erreur")).toContainText(
    "n'est pas rattaché(e) à la structure ORGANISME DE FORMATION HORIZON",
  );
  await checkA11y(m, "transfert-gestionnaire-erreur");

  // …then each structure to its own new manager.
  await m.locator("label[for=mode-chacune]").click();
  await m.getByLabel(/Nouveau gestionnaire de CAISSE D'ALLOCATIONS/).selectOption({ label: label(lucie) });
  await m.getByLabel(/Nouveau gestionnaire de ORGANISME DE FORMATION HORIZON/).selectOption({ label: label(paul) });
  await m.getByRole("button", { name: "Soumettre" }).click();
  await expect(m.getByText("Le rôle de gestionnaire principal est transféré pour 2 structures")).toBeVisible();
  await expect(m.getByText("Vous n'êtes gestionnaire principal d'aucune structure active.")).toBeVisible();
  await checkA11y(m, "transfert-gestionnaire-fait");

  await visit(p, `/dev/mailbox?a=${encodeURIComponent(paul.email)}`);
  await expect(p.locator("article.mail", { hasText: "Vous êtes gestionnaire principal" })).toContainText(
    "ORGANISME DE FORMATION HORIZON",
  );
  await visit(p, "/structures");
  await expect(p.locator("li.structure", { hasText: "HORIZON" })).toContainText("Gestionnaire principal");
  await op.reload();
  await expect(op.locator(".gestionnaire-principal")).toContainText(`Lucie ${lucie.nom}`);
  await expect(op.getByRole("heading", { name: "Administrateurs (0 sur 1)" })).toBeVisible();
});
