import { test, expect } from "@playwright/test";
import { checkA11y, email, hydrated, logIn, person, signUp, visit, registerOrganisation } from "./helpers";

/** The day `inDays` from today, as the date fields take it (ISO) and as
 * the screens show it (dd/mm/yyyy). */
function day(inDays: number): { iso: string; fr: string } {
  const d = new Date();
  d.setDate(d.getDate() + inDays);
  const pad = (n: number) => String(n).padStart(2, "0");
  const [y, m, j] = [d.getFullYear(), pad(d.getMonth() + 1), pad(d.getDate())];
  return { iso: `${y}-${m}-${j}`, fr: `${j}/${m}/${y}` };
}

// SOFFi journey (seed 000): an agent asks for a role for a structure, its
// manager sees "En attente 1 personne", opens the card and decides.
async function setUp(browser: any, siret: string, tag: string) {
  const manager = { email: email(`gestionnaire-${tag}`), prenom: "Marie", nom: `Gestionnaire${tag}` };
  const agent = { email: email(`agent-${tag}`), prenom: "Paul", nom: `Agent${tag}` };

  const m = await person(browser);
  await signUp(m, manager);
  await logIn(m, manager.email);
  await registerOrganisation(m, siret);
  await expect(m.locator("li.structure", { hasText: "Gestionnaire principal" })).toBeVisible();

  const a = await person(browser);
  await signUp(a, agent, tag === "ok");
  await logIn(a, agent.email);
  await visit(a, "/structures");
  await a.getByLabel("SIRET ou nom de la structure").fill(siret.slice(0, 9));
  const result = a.locator("li.resultat-structure", { hasText: siret });
  await expect(result).toBeVisible();
  await result.getByRole("link", { name: "Demander un accès" }).click();
  await expect(a.getByRole("heading", { name: "Demander un accès" })).toBeVisible();
  await hydrated(a);
  if (tag === "ok") await checkA11y(a, "demander-un-acces");
  await a.getByLabel("Démarche et rôle demandés").selectOption({ label: "SOFFi — Consultation" });
  await a.getByLabel("Message aux gestionnaires").fill("Je suis chargé du suivi des formations.");
  await a.getByRole("button", { name: "Envoyer la demande" }).click();
  await expect(a.getByText("Votre demande est envoyée")).toBeVisible();
  return { m, a, manager, agent };
}

test("a manager accepts a request and the requester sees the tile", async ({ browser }) => {
  const { m, a, manager, agent } = await setUp(browser, "95822412300157", "ok");

  // The manager's mail names the requester, the service and the structure.
  await visit(m, `/dev/mailbox?a=${encodeURIComponent(manager.email)}`);
  await expect(m.getByText(`Paul ${agent.nom} vous demande l'accès à la démarche 'SOFFi'`)).toBeVisible();
  await checkA11y(m, "boite-aux-lettres");

  await visit(m, "/");
  const tile = m.locator(".tuile[data-app=soffi]");
  await expect(tile.getByRole("link", { name: "En attente 1 personne" })).toBeVisible();
  await checkA11y(m, "mes-demarches-gestionnaire");
  await tile.getByRole("link", { name: "En attente 1 personne" }).click();
  await expect(m.getByRole("heading", { name: "Utilisateurs du service — SOFFi" })).toBeVisible();
  await expect(m.getByText("1 droit d'accès trouvé")).toBeVisible();
  await checkA11y(m, "utilisateurs-du-service");
  await m.getByRole("link", { name: `Paul ${agent.nom}` }).click();
  await expect(m.getByRole("heading", { name: "Coordonnées" })).toBeVisible();
  await expect(m.getByText("Demandes en cours")).toBeVisible();
  await expect(m.getByText("(SIRET 95822412300157)")).toBeVisible();
  await hydrated(m);
  await checkA11y(m, "fiche-utilisateur");
  await m.getByRole("button", { name: "Accepter la demande Consultation" }).click();
  await expect(m.getByText("La décision est enregistrée")).toBeVisible();
  await expect(m.locator("ul.habilitations")).toContainText("Consultation");
  await expect(m.getByText("Aucune demande en attente.")).toBeVisible();

  // A right given until D: the card shows D as its closing date, and the
  // day before as its last day (one meaning of a date).
  await hydrated(m);
  await m.locator("#nouveau-role").selectOption({ label: "Saisie" });
  await m.getByLabel("Date de clôture (facultative)").fill(day(3).iso);
  await m.getByRole("button", { name: "Ajouter une nouvelle habilitation" }).click();
  await expect(m.locator("ul.habilitations")).toContainText(
    `Saisie — à partir du ${day(0).fr}, date de clôture : ${day(3).fr} (dernier jour : ${day(2).fr})`,
  );
  await checkA11y(m, "fiche-utilisateur-habilitation-datee");

  await visit(a, "/");
  const own = a.locator(".tuile[data-app=soffi]");
  await expect(own).toContainText("SOFFi");
  await expect(own).toContainText("Accès ouvert");
  await checkA11y(a, "mes-demarches-agent");
  await visit(a, `/dev/mailbox?a=${encodeURIComponent(agent.email)}`);
  await expect(a.getByText("Votre accès à SOFFi est accordé")).toBeVisible();

  // Accepted, Paul is now an agent of the structure (Liste des agents).
  await visit(m, "/structures");
  await m.getByRole("link", { name: "Liste des agents" }).click();
  await expect(m.getByRole("heading", { name: "Liste des agents" })).toBeVisible();
  await expect(m.locator("tr.agent", { hasText: agent.email })).toContainText("Ouvert");
  await hydrated(m);
  await m.getByLabel("Nom", { exact: true }).fill(agent.nom);
  await m.getByRole("button", { name: "Filtrer" }).click();
  await expect(m.locator("tr.agent")).toHaveCount(1);
  await checkA11y(m, "liste-des-agents");
  await m.locator("tr.agent summary").click();
  await m.getByRole("button", { name: `Renvoyer l'identifiant par mail à Paul ${agent.nom}` }).click();
  await expect(m.getByText("L'identifiant a été renvoyé par courriel")).toBeVisible();
  await visit(a, `/dev/mailbox?a=${encodeURIComponent(agent.email)}`);
  await expect(a.getByText("Votre identifiant Habilitations")).toBeVisible();
});

test("a manager refuses a request with a reason", async ({ browser }) => {
  const { m, a } = await setUp(browser, "28728463200950", "refus");
  await visit(m, "/");
  await m.locator(".tuile[data-app=soffi]").getByRole("link", { name: "En attente 1 personne" }).click();
  await m.locator("tr.utilisateur a").first().click();
  await hydrated(m);
  await m.getByLabel("Motif du refus (facultatif)").fill("Vous ne faites pas partie du service formation.");
  await m.getByRole("button", { name: "Refuser la demande Consultation" }).click();
  await expect(m.getByText("La décision est enregistrée")).toBeVisible();
  await expect(m.getByText("Aucune demande en attente.")).toBeVisible();

  await visit(a, "/demandes");
  const row = a.locator("tr.demande").first();
  await expect(row.locator(".etat")).toHaveText("Refusée");
  await expect(row).toContainText("Vous ne faites pas partie du service formation.");
  await checkA11y(a, "mes-demandes");
  await visit(a, "/");
  await expect(a.locator(".tuile[data-app=soffi]")).toHaveCount(0);
  await expect(a.getByText("Vous n'avez encore accès à aucune démarche.")).toBeVisible();
});
