"""The Stanford Sentiment Treebank, binary (Socher et al., 2013), in its three common forms.

- GLUE: ``train.tsv`` / ``dev.tsv``, a ``sentence\\tlabel`` header then one example a line
  (train holds 67k phrases, dev whole sentences);
- sentence level: ``stsa.binary.train`` / ``stsa.binary.dev``, ``<label> <sentence>`` a line;
- PTB trees: ``trees/train.txt`` / ``trees/dev.txt``, one bracketed parse a line whose root label
  0-1 is negative, 3-4 positive and 2 neutral (dropped, and counted, for the binary task).
"""

from __future__ import annotations

import re
from pathlib import Path

from .io import is_number, read_lines
from .schema import NEGATIVE, POSITIVE, CorpusFormatError, SentimentCorpus, SentimentExample, SkipLog

NAME = "sst2"
TREE_TOKEN = re.compile(r"\(|\)|[^\s()]+")
# the Penn Treebank's escapes, which the sentence-level and tree files keep and GLUE's files do not:
# unescaped, a dev sentence reads as the classifier's GLUE training text does
PTB_BRACKETS = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}


def unescape_ptb(token: str) -> str:
    """``-LRB-`` / ``-lrb-`` -> ``(`` (and the square and curly brackets), ``\\/`` -> ``/``, ``\\*`` -> ``*``."""
    return PTB_BRACKETS.get(token.lower(), token).replace("\\/", "/").replace("\\*", "*")


def _binary_label(value: str, path: Path, number: int) -> int:
    if value not in ("0", "1"):
        raise CorpusFormatError(path, f"label must be 0 or 1, found {value!r}", number)
    return int(value)


def read_sst2_glue(path: str | Path, split: str | None = None) -> SentimentCorpus:
    """Read GLUE's SST-2 ``train.tsv`` or ``dev.tsv`` (columns found by name in the header)."""
    path = Path(path)
    lines = read_lines(path)
    header = next(lines, (1, ""))[1].split("\t")
    missing = [c for c in ("sentence", "label") if c not in header]
    if missing:
        raise CorpusFormatError(path, f"header lacks column(s) {', '.join(missing)}, found {header}", 1)
    text_col, label_col = header.index("sentence"), header.index("label")
    examples = []
    for number, line in lines:
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise CorpusFormatError(path, f"expected {len(header)} tab-separated fields, found {len(fields)}", number)
        if not fields[text_col].strip():
            raise CorpusFormatError(path, "field sentence is empty", number)
        examples.append(SentimentExample(fields[text_col].strip(), _binary_label(fields[label_col], path, number)))
    return SentimentCorpus(name=f"{NAME}/glue", split=split or path.stem, source=str(path), examples=examples)


def read_sst2_sentences(path: str | Path, split: str | None = None) -> SentimentCorpus:
    """Read ``stsa.binary.train`` or ``stsa.binary.dev``: ``<label> <sentence>`` per line."""
    path = Path(path)
    examples = []
    for number, line in read_lines(path):
        if not line.strip():
            continue
        label, _, text = line.partition(" ")
        if not text.strip():
            raise CorpusFormatError(path, "expected '<label> <sentence>', found no sentence", number)
        examples.append(SentimentExample(" ".join(map(unescape_ptb, text.split())), _binary_label(label, path, number)))
    return SentimentCorpus(
        name=f"{NAME}/sentence_level", split=split or path.name.rsplit(".", 1)[-1], source=str(path), examples=examples
    )


def _parse_tree(line: str, path: Path, number: int) -> tuple[int, list[str]]:
    """Return the root label and the leaves of one PTB bracketed tree."""
    tokens = TREE_TOKEN.findall(line)
    if len(tokens) < 4 or tokens[0] != "(" or not is_number(tokens[1]):
        raise CorpusFormatError(path, "expected a bracketed tree such as '(3 (2 a) (4 film))'", number)
    leaves, depth = [], 0
    for i, token in enumerate(tokens):
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth == 0 and i < len(tokens) - 1:  # a second tree, or words, would be read into this one
                raise CorpusFormatError(path, f"text after the tree's closing ')' (token {i + 1})", number)
        elif tokens[i - 1] != "(":  # a label follows '(' directly; anything else is a word
            leaves.append(unescape_ptb(token))
    if depth != 0:
        raise CorpusFormatError(path, f"{depth} unclosed '(' at the end of the tree", number)
    if not leaves:
        raise CorpusFormatError(path, "the tree has no words", number)
    return int(tokens[1]), leaves


def read_sst2_trees(path: str | Path, split: str | None = None) -> SentimentCorpus:
    """Read PTB trees: root 0-1 -> negative, 3-4 -> positive, 2 (neutral) dropped and counted."""
    path = Path(path)
    examples, skipped = [], SkipLog()
    for number, line in read_lines(path):
        if not line.strip():
            continue
        root, leaves = _parse_tree(line, path, number)
        if root not in range(5):
            raise CorpusFormatError(path, f"root label must be 0-4, found {root}", number)
        if root == 2:
            skipped.add("neutral sentence (root label 2)", f"{path}:{number}")
            continue
        examples.append(SentimentExample(" ".join(leaves), POSITIVE if root >= 3 else NEGATIVE))
    return SentimentCorpus(name=f"{NAME}/trees", split=split or path.stem, source=str(path), examples=examples, skipped=skipped)
