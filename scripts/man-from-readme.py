#!/usr/bin/env python3
"""Writes factory-recipe(5) and factory.yaml(5) from README.md's "Recipe reference" and
"factory.yaml" sections, so the pages say what the README says.

usage: scripts/man-from-readme.py README.md OUTDIR VERSION

The Markdown the README uses is enough: ### headings, paragraphs, fenced code, "- " lists
and tables (one .TP entry a row: the first column, the middle ones in parentheses, then the
last). Inline `code` and **bold** become bold; links keep their text (and an outside URL).
"""
import re
import sys

PAGES = [
    # file, the README's "## " heading it starts with, NAME line
    ("factory-recipe.5", "Recipe reference", "factory-recipe \\- the recipe file format of factory"),
    ("factory.yaml.5", "factory.yaml", "factory.yaml \\- the settings factory shares between recipes"),
]


def escape(text):
    """Backslashes, minus signs and anything outside ASCII, for roff."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ord(ch) > 127:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def inline(text):
    """Code spans kept as they are (bold); links and bold in the text between them."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append("\\fB" + escape(part[1:-1]) + "\\fR")
            continue
        part = re.sub(r"\[([^\]]+)\]\(#[^)]*\)", r"\1", part)
        part = re.sub(r"\[([^\]]+)\]\(([^)]*)\)", r"\1 (\2)", part)
        part = escape(part)
        out.append(re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", part))
    return "".join(out)


def line(text):
    """A text line roff does not take for a request."""
    return "\\&" + text if text[:1] in (".", "'") else text


def cells(row):
    row = row.strip().strip("|").replace("\\|", "\0")
    return [c.strip().replace("\0", "|") for c in row.split("|")]


def section(readme, heading):
    """The lines under `## heading...` up to the next `## `."""
    lines = readme.split("\n")
    for i, text in enumerate(lines):
        if text.startswith("## " + heading):
            body = []
            for more in lines[i + 1:]:
                if more.startswith("## "):
                    break
                body.append(more)
            return text[3:], body
    sys.exit("man-from-readme: README.md has no '## %s' section" % heading)


def convert(title, body, out):
    out.append(".SH DESCRIPTION")
    out.append(line(inline(title.strip())))
    i = 0
    header = None
    while i < len(body):
        text = body[i]
        if text.startswith("```"):
            out += [".PP", ".RS 4", ".nf"]
            i += 1
            while i < len(body) and not body[i].startswith("```"):
                out.append(line(escape(body[i])))
                i += 1
            out += [".fi", ".RE"]
            i += 1
            continue
        if text.startswith("### "):
            out.append(".SS " + inline(text[4:]))
        elif text.startswith("|"):
            row = cells(text)
            if header is None:
                header = row
            elif not all(set(c) <= set("-:") for c in row):
                out += [".TP", line(inline(row[0]))]
                middle = ["%s: %s" % (h, c) for h, c in zip(header[1:-1], row[1:-1]) if c]
                meaning = inline(row[-1]) if len(row) > 1 else ""
                if middle:
                    meaning = "(" + inline("; ".join(middle)) + ") " + meaning
                out.append(line(meaning.strip() or "\\&"))
            i += 1
            continue
        elif text.startswith("- "):
            out += [".IP \\(bu 2", line(inline(text[2:]))]
        elif not text.strip():
            out.append(".PP")
        else:
            out.append(line(inline(text.strip())))
        header = None
        i += 1
    # One paragraph break is enough, and none next to a heading or an entry.
    tidy = []
    for text in out:
        if text == ".PP" and tidy and (tidy[-1] == ".PP" or tidy[-1].startswith((".SH", ".SS"))):
            continue
        if text.startswith((".SH", ".SS", ".TP", ".IP")) and tidy and tidy[-1] == ".PP":
            tidy.pop()
        tidy.append(text)
    while tidy and tidy[-1] == ".PP":
        tidy.pop()
    return tidy


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: scripts/man-from-readme.py README.md OUTDIR VERSION")
    readme_path, outdir, version = sys.argv[1:]
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read()
    for name, heading, summary in PAGES:
        title, body = section(readme, heading)
        page, sect = name.rsplit(".", 1)
        out = ['.TH %s %s "" "factory %s" "factory manual"' % (escape(page.upper()), sect, version),
               ".nh", ".SH NAME", summary]
        out = convert(title, body, out)
        out += [".SH SEE ALSO", ".BR factory (1),",
                ".BR factory.yaml (5)" if page == "factory-recipe" else ".BR factory\\-recipe (5)"]
        with open("%s/%s" % (outdir, name), "w", encoding="utf-8") as f:
            f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
