from __future__ import annotations

import pytest

from mlpipex.domain.digest import Digest
from mlpipex.domain.manifest import safe_relpath
from mlpipex.domain.refs import (
    VersionRef,
    check_alias,
    check_label,
    check_model_name,
    parse_version_ref,
)
from mlpipex.errors import Invalid


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("fraud/3", VersionRef("fraud", version=3)),
        ("fraud@champion", VersionRef("fraud", alias="champion")),
        ("fraud:Production", VersionRef("fraud", stage="Production")),
        ("models:/fraud/3", VersionRef("fraud", version=3)),
        ("models:/fraud@champion", VersionRef("fraud", alias="champion")),
        ("models:/fraud/Staging", VersionRef("fraud", stage="Staging")),
        ("models:/fraud/latest", VersionRef("fraud", latest=True)),
    ],
)
def test_every_way_of_naming_a_version(text: str, ref: VersionRef) -> None:
    assert parse_version_ref(text) == ref


@pytest.mark.parametrize("text", ["fraud", "models:/fraud", "/3", "../x/1"])
def test_references_without_a_version_are_refused(text: str) -> None:
    with pytest.raises(Invalid):
        parse_version_ref(text)


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "v42", "1abc", "a b", ""])
def test_reserved_and_malformed_aliases_are_refused(alias: str) -> None:
    with pytest.raises(Invalid):
        check_alias(alias)


def test_digests_parse_with_or_without_algorithm() -> None:
    assert Digest.parse("md5:" + "a" * 32) == Digest("md5", "a" * 32)
    assert Digest.parse("b" * 64) == Digest("blake3", "b" * 64)
    assert Digest.parse("c" * 32 + ".dir") == Digest("md5", "c" * 32)
    for bad in ("md5:xyz", "blake3:" + "a" * 10, "sha1:" + "a" * 40):
        with pytest.raises(Invalid):
            Digest.parse(bad)


@pytest.mark.parametrize("name", ["m1\n", "m1 ", " m1", "m\x00", "a/b"])
def test_model_names_with_a_trailing_newline_or_space_are_refused(name: str) -> None:
    with pytest.raises(Invalid):
        check_model_name(name)
    assert check_model_name("m 1") == "m 1"


@pytest.mark.parametrize("alias", ["champion\n", "v1\n", "latest\n"])
def test_aliases_are_matched_whole(alias: str) -> None:
    with pytest.raises(Invalid):
        check_alias(alias)


@pytest.mark.parametrize("name", ["ann\n", "ann ", " ann", "a\x00n", ""])
def test_free_form_names_refuse_control_characters_and_edge_spaces(name: str) -> None:
    with pytest.raises(Invalid):
        check_label("user", name)
    assert check_label("user", "Ann Lee <ann@example.com>") == "Ann Lee <ann@example.com>"


@pytest.mark.parametrize("path", ["a\x00b", "model/m\n.bin", "x/\ty"])
def test_artifact_paths_with_control_characters_are_refused(path: str) -> None:
    with pytest.raises(Invalid):
        safe_relpath(path)
