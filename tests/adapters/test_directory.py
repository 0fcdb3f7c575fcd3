"""The directory routes a case to the right authority, and its mistakes show up at load time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import adapters
from adapters.directory import Directory, UnknownDestination
from adapters.keys import generate_key, public_key_to_text

EXAMPLE = Path(adapters.__file__).parent / "directory.example.yaml"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load(EXAMPLE)


def test_example_file_loads_and_all_its_adapters_and_options_are_valid(directory: Directory) -> None:
    assert set(directory.states) == {"LU", "BE", "DE", "MT"}
    assert directory.check_adapters() == []


def test_single_authority_state(directory: Directory) -> None:
    route = directory.route("LU")
    assert (route.authority_code, route.adapter, route.languages) == ("LU-PG", "nodelink", ["fr", "de"])
    assert route.options["url"] == "https://probatio.justice.lu/api/v1/inbox"


@pytest.mark.parametrize(
    ("postal_code", "authority"),
    [("1050", "BE-PR-BRU"), ("1000", "BE-PR-BRU"), ("1299", "BE-PR-BRU"), ("2018", "BE-PK-ANT"),
     ("4000", "BE-SPF-JUST"), (" 10 50 ", "BE-PR-BRU"), (None, "BE-SPF-JUST"), ("10500", "BE-SPF-JUST")],
)  # fmt: skip
def test_postal_code_picks_the_regional_authority(
    directory: Directory, postal_code: str | None, authority: str
) -> None:
    assert directory.route("BE", postal_code=postal_code).authority_code == authority


def test_regional_languages_override_the_state_default(directory: Directory) -> None:
    assert directory.route("BE", postal_code="2000").languages == ["nl"]
    assert directory.route("BE", postal_code="4000").languages == ["fr", "nl", "de"]


def test_category_and_postal_code_together(directory: Directory) -> None:
    community = directory.route("DE", postal_code="69117", category="community_service")
    assert (community.authority_code, community.adapter) == ("DE-BW-GH", "email")
    # Same region, another measure: the specialised office does not take it.
    assert directory.route("DE", postal_code="69117", category="reporting").authority_code == "DE-BfJ"
    # Same measure, another region.
    assert directory.route("DE", postal_code="10117", category="community_service").authority_code == "DE-BfJ"


def test_region_can_route(directory: Directory) -> None:
    assert directory.route("BE", region="flanders", postal_code="2600").authority_code == "BE-PK-ANT"


def test_unknown_state_says_which_states_exist(directory: Directory) -> None:
    with pytest.raises(UnknownDestination, match=r"'FR'.*BE, DE, LU, MT"):
        directory.route("FR")


def test_no_catch_all_needs_a_postal_code() -> None:
    directory = Directory.from_dict(
        {
            "states": {
                "NL": {
                    "authorities": [
                        {"code": "N", "name": "Noord", "adapter": "post", "postal_codes": ["1*"],
                         "options": {"address": ["x"]}},
                        {"code": "Z", "name": "Zuid", "adapter": "post", "postal_codes": ["5*"],
                         "options": {"address": ["y"]}},
                    ]
                }
            }
        }
    )  # fmt: skip
    assert directory.route("NL", postal_code="5611 AB").authority_code == "Z"
    with pytest.raises(UnknownDestination, match="need a postal code"):
        directory.route("NL")
    with pytest.raises(UnknownDestination, match="postal code '9999'"):
        directory.route("NL", postal_code="9999")


def test_public_keys(directory: Directory) -> None:
    assert directory.public_key("LU") is not None
    assert directory.public_key("DE") is None  # reached over e-CODEX, no probatio node
    assert directory.public_key("FR") is None


def _one_state(**authority: Any) -> dict[str, Any]:
    base = {"code": "X", "name": "X", "adapter": "nodelink", "options": {"url": "https://x/api/v1/inbox"}}
    return {"states": {"LU": {"authorities": [{**base, **authority}]}}}


def test_mistakes_are_caught_at_load() -> None:
    with pytest.raises(ValidationError, match="public key"):
        Directory.from_dict(
            {"states": {"LU": {"public_key": "nope", "authorities": [_one_state()["states"]["LU"]["authorities"][0]]}}}
        )
    with pytest.raises(ValidationError, match="two capital letters"):
        Directory.from_dict({"states": {"Luxembourg": _one_state()["states"]["LU"]}})
    with pytest.raises(ValidationError, match="postcode"):
        Directory.from_dict(_one_state(postcode=["1000"]))  # a typo of postal_codes
    with pytest.raises(ValidationError, match="authorities"):
        Directory.from_dict({"states": {"LU": {"authorities": []}}})


def test_check_adapters_names_the_bad_option() -> None:
    directory = Directory.from_dict(_one_state(options={"url": "https://x/api/v1/inbox", "timeout": 5}))
    [problem] = directory.check_adapters()
    assert "LU/X" in problem and "'timeout'" in problem
    directory = Directory.from_dict(_one_state(adapter="carrier_pigeon"))
    [problem] = directory.check_adapters()
    assert "carrier_pigeon" in problem and "nodelink" in problem


def test_load_from_a_file(tmp_path: Path) -> None:
    key = public_key_to_text(generate_key().public_key())
    path = tmp_path / "directory.yaml"
    path.write_text(
        f"states:\n  BE:\n    public_key: {key}\n    authorities:\n"
        "      - {code: BE-1, name: Justice, adapter: nodelink, options: {url: 'https://be/api/v1/inbox'}}\n"
    )
    assert Directory.load(path).route("BE").authority_name == "Justice"
