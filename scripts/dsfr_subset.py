#!/usr/bin/env python3
"""The DSFR styles the screens use, and nothing else (first-load budget).

- public/dsfr/dsfr.min.css: the DSFR's core and the components the
  screens use, in their "main" builds (the legacy builds repeat every rule
  for browsers without CSS variables). A component used by a new screen
  must be added to COMPONENTS.
- public/dsfr/utility/icons/icons.min.css: the rules of the icons named in
  app/src (`fr-icon-…` classes), found by reading the sources.
- public/dsfr/fonts/Marianne-{Regular,Medium,Bold}.woff2, the three weights
  the screens use (preloaded by the page shell): only the Latin letters,
  digits and punctuation that French text and names use (Latin-1, Latin
  Extended-A, typographic punctuation, €), without TrueType hinting
  instructions, which modern browsers do not need: 58 KB → 17 KB each. A
  character outside them is drawn by the next font of the stack. Needs
  fontTools and brotli (installed by scripts/lib.sh into .data/python).

Files are rewritten only when their content changes (the build compares
dates). Usage: scripts/dsfr_subset.py DSFR_DIST PUBLIC_DSFR APP_SRC
"""
import pathlib
import re
import sys

FONT_WEIGHTS = ["Regular", "Medium", "Bold"]
FONT_UNICODES = (
    "U+0000-00FF,U+0100-017F,U+0192,U+02C6,U+02C7,U+02DA,U+02DC,"
    "U+2000-206F,U+20AC,U+2122,U+2212,U+FB01,U+FB02"
)

COMPONENTS = [
    "link", "button", "badge", "logo", "header", "footer", "navigation",
    "skiplink", "modal", "alert", "notice", "form", "input", "select",
    "checkbox", "radio", "upload", "table", "tile", "card",
]


def write_if_changed(path: pathlib.Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def rebased(text: str, depth: int) -> str:
    """The url(...) of a file `depth` folders below the DSFR's dist/, made
    relative to dist/ itself (where the concatenation is served from)."""
    up = "../" * depth
    return re.sub(r"url\((['\"]?)" + re.escape(up), r"url(\1", text)


def main(dist: str, public: str, src: str) -> None:
    dist_p, public_p = pathlib.Path(dist), pathlib.Path(public)
    parts = [rebased((dist_p / "core" / "core.main.min.css").read_text(encoding="utf-8"), 1)]
    for c in COMPONENTS:
        text = (dist_p / "component" / c / f"{c}.main.min.css").read_text(encoding="utf-8")
        parts.append(rebased(text, 2))
    # One licence banner is enough; @charset may only come first.
    body = "\n".join(re.sub(r"^@charset \"UTF-8\";", "", p) for p in parts)
    write_if_changed(public_p / "dsfr.min.css", '@charset "UTF-8";\n' + body)

    used = set()
    for f in pathlib.Path(src).rglob("*.rs"):
        used.update(re.findall(r"fr-icon-([a-z0-9-]+)", f.read_text(encoding="utf-8")))
    icons = (dist_p / "utility" / "icons" / "icons.min.css").read_text(encoding="utf-8")
    # The plain rules come first, then media queries that only repeat the
    # legacy (high-contrast Internet Explorer) ones.
    plain = icons.split("@media", 1)[0]
    kept = []
    for rule in plain.split("}"):
        names = re.findall(r"\.fr-icon-([a-z0-9-]+):", rule)
        if names and any(n in used for n in names):
            kept.append(rule + "}")
    write_if_changed(public_p / "utility" / "icons" / "icons.min.css", "".join(kept) + "\n")


def subset_fonts(dist: str, public: str) -> None:
    from fontTools import subset  # scripts/lib.sh installs it

    settings = f"{FONT_UNICODES} no-hinting\n"
    fonts = pathlib.Path(public) / "fonts"
    stamp = fonts / ".subset"
    for weight in FONT_WEIGHTS:
        source = pathlib.Path(dist) / "fonts" / f"Marianne-{weight}.woff2"
        target = fonts / f"Marianne-{weight}.woff2"
        # Done already: same settings, and the file is the (smaller) subset
        # made since the source changed; a fresh copy of the whole font
        # (scripts/lib.sh copies the DSFR again when it changes) is newer
        # than its source but not smaller.
        if (stamp.exists() and stamp.read_text() == settings and target.exists()
                and target.stat().st_mtime >= source.stat().st_mtime
                and target.stat().st_size < source.stat().st_size):
            continue
        options = subset.Options()
        options.flavor = "woff2"
        options.hinting = False
        font = subset.load_font(str(source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=subset.parse_unicodes(FONT_UNICODES))
        subsetter.subset(font)
        subset.save_font(font, str(target), options)
    write_if_changed(stamp, settings)


if __name__ == "__main__":
    main(*sys.argv[1:4])
    subset_fonts(sys.argv[1], sys.argv[2])
