import pytest

from happybot_env.data import NEGATIVE, POSITIVE, CorpusFormatError, read_sst2_glue, read_sst2_sentences, read_sst2_trees


def test_glue_tsv(fixtures):
    corpus = read_sst2_glue(fixtures / "sst2" / "glue" / "train.tsv")
    assert corpus.split == "train"
    assert [(e.text, e.label) for e in corpus.examples] == [
        ("a warm , funny film", POSITIVE),
        ("dull and far too long", NEGATIVE),
        ("the cast is wonderful", POSITIVE),
    ]


def test_glue_columns_are_found_by_name(write):
    path = write("dev.tsv", "label\tsentence\n0\ta tedious mess .\n")
    assert [(e.text, e.label) for e in read_sst2_glue(path).examples] == [("a tedious mess .", NEGATIVE)]


def test_sentence_level(fixtures):
    corpus = read_sst2_sentences(fixtures / "sst2" / "sentence_level" / "stsa.binary.dev")
    assert corpus.split == "dev"
    assert [(e.text, e.label) for e in corpus.examples] == [
        ("a delight from start to finish .", POSITIVE),
        ("a tedious mess ( sadly ) .", NEGATIVE),  # as GLUE writes it, which the classifier trains on
    ]


def test_penn_treebank_escapes_read_as_glue_writes_them(write):
    """The sentence-level and tree files keep the treebank's escapes; 49 of the 872 dev sentences
    differed from the same sentences in GLUE's files, the classifier's training text."""
    path = write("stsa.binary.dev", "0 \\/ but daphne -LSB- sic -RSB- \\/ -lcb- x -rcb- \\* .\n")
    assert read_sst2_sentences(path).examples[0].text == "/ but daphne [ sic ] / { x } * ."
    path = write("dev.txt", "(1 (2 writer\\/director) (1 (2 -lrb-) (1 bad) (2 -RRB-)))\n")
    assert read_sst2_trees(path).examples[0].text == "writer/director ( bad )"


def test_trees_map_root_labels_and_drop_neutral(fixtures):
    corpus = read_sst2_trees(fixtures / "sst2" / "trees" / "train.txt")
    assert [(e.text, e.label) for e in corpus.examples] == [
        ("A warm , funny film", POSITIVE),
        ("Dull and too long", NEGATIVE),
    ]
    assert dict(corpus.skipped.counts) == {"neutral sentence (root label 2)": 1}


def test_trees_unescape_brackets(fixtures):
    corpus = read_sst2_trees(fixtures / "sst2" / "trees" / "dev.txt")
    assert corpus.examples[0] == type(corpus.examples[0])("A tedious mess ( sadly ) .", NEGATIVE)
    assert corpus.examples[1].label == POSITIVE  # root 3


@pytest.mark.parametrize(
    "reader, name, content, line, message",
    [
        (read_sst2_glue, "train.tsv", "sentence\n a film\n", 1, r"header lacks column\(s\) label"),
        (read_sst2_glue, "train.tsv", "sentence\tlabel\nfine\t2\n", 2, "label must be 0 or 1, found '2'"),
        (read_sst2_glue, "train.tsv", "sentence\tlabel\nno label here\n", 2, "expected 2 tab-separated fields, found 1"),
        (read_sst2_glue, "train.tsv", "sentence\tlabel\n \t1\n", 2, "field sentence is empty"),
        (read_sst2_sentences, "stsa.binary.train", "1 good\npositive great\n", 2, "label must be 0 or 1"),
        (read_sst2_sentences, "stsa.binary.train", "1\n", 1, "found no sentence"),
        (read_sst2_trees, "train.txt", "(3 (2 a) (4 film)\n", 1, "1 unclosed"),
        (read_sst2_trees, "train.txt", "(3 (2 a)) (4 film))\n", 1, r"text after the tree's closing '\)' \(token 7\)"),
        (read_sst2_trees, "train.txt", "not a tree\n", 1, "expected a bracketed tree"),
        (read_sst2_trees, "train.txt", "(\u00b3 (2 a) (4 film))\n", 1, "expected a bracketed tree"),
        (read_sst2_trees, "train.txt", "(7 (2 a) (4 film))\n", 1, "root label must be 0-4"),
        (read_sst2_trees, "train.txt", "(3 (2 a) (4 film)) (0 (0 awful))\n", 1, r"text after the tree's closing '\)' \(token 11\)"),
        (read_sst2_trees, "train.txt", "(3 (2 a) (4 film)) junk\n", 1, "text after the tree's closing"),
        (read_sst2_trees, "train.txt", "(3 (2) (4))\n", 1, "the tree has no words"),
    ],
)
def test_malformed_lines_name_file_and_line(write, reader, name, content, line, message):
    path = write(name, content)
    with pytest.raises(CorpusFormatError, match=message) as error:
        reader(path)
    assert str(error.value).startswith(f"{path}, line {line}:")


def test_undecodable_byte(write):
    path = write("stsa.binary.dev", b"1 good\n0 \xff bad\n")
    with pytest.raises(CorpusFormatError, match=r"line 2: byte 0xff at column 3"):
        read_sst2_sentences(path)
