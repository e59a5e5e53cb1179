"""Username validators: reserved names, invisible characters, confusables."""

import pytest
from django.core.exceptions import ValidationError

from ublog_accounts import validators


def codes(value):
    try:
        validators.validate_username(value)
    except ValidationError as error:
        return [item.code for item in error.error_list]
    return []


@pytest.mark.parametrize(
    "name",
    [
        "alice",
        "Bob_42",
        "josé",
        "Алиса",  # all Cyrillic
        "ξένος",  # all Greek
        "日本語",
        "admins",
        "root2",
        "dora@example.com",
        "x.y-z+w",
    ],
)
def test_ordinary_names_pass(name):
    assert codes(name) == []


@pytest.mark.parametrize(
    "name",
    [
        "admin",
        "ADMIN",
        "Administrator",
        "root",
        "postmaster",
        "hostmaster",
        "webmaster",
        "abuse",
        "security",
        "support",
        "noreply",
        "no-reply",
        "mailer-daemon",
        "info",
        "www",
        "ftp",
        "mail",
        "email",
        "sysadmin",
        "ssladmin",
        "ublog",
        "accounts",
        "static",
        "media",
        "login",
        "logout",
        "signup",
        "ＡＤＭＩＮ",  # fullwidth letters
        "ⓦⓦⓦ",  # circled letters
        ".well-known",
        ".well-known-thing",
    ],
)
def test_reserved_names(name):
    assert codes(name) == ["reserved_username"]


def test_reserved_names_compare_nfkc_casefolded():
    assert validators.normalize("ＳＴＲＡẞＥ") == "strasse"
    assert "administrator" in validators.reserved_usernames()
    with pytest.raises(ValidationError):
        validators.validate_not_reserved("ＲＯＯＴ")


def test_reserved_names_setting_read_at_call_time(settings):
    validators.validate_not_reserved("Carol")
    settings.UBLOG_ACCOUNTS_RESERVED_USERNAMES = ["carol", "ＤＡＶＥ"]
    assert {"carol", "dave"} <= validators.reserved_usernames()
    for name in ("CAROL", "dave"):
        with pytest.raises(ValidationError) as info:
            validators.validate_not_reserved(name)
        assert info.value.code == "reserved_username"
    # The defaults stay.
    assert codes("admin") == ["reserved_username"]


@pytest.mark.parametrize(
    "character",
    [
        "\u200b",  # zero-width space
        "\u200c",  # zero-width non-joiner
        "\u200d",  # zero-width joiner
        "\u200e",  # left-to-right mark
        "\u202e",  # right-to-left override
        "\u2066",  # left-to-right isolate
        "\u00ad",  # soft hyphen
        "\ufeff",  # zero-width no-break space (BOM)
    ],
)
def test_invisible_characters(character):
    with pytest.raises(ValidationError) as info:
        validators.validate_no_invisible_characters(f"ali{character}ce")
    assert info.value.code == "invisible_character"
    assert info.value.params == {"character": f"U+{ord(character):04X}"}
    assert f"U+{ord(character):04X}" in info.value.messages[0]
    assert "invisible_character" in codes(f"ali{character}ce")


@pytest.mark.parametrize(
    "name",
    ["p\u0430ypal", "Ali\u0441e", "\u0430dmin", "b\u03bfb", "dora@ex\u0430mple.com"],
)
def test_confusable_names(name):
    with pytest.raises(ValidationError) as info:
        validators.validate_not_confusable(name)
    assert info.value.code == "confusable_username"
    assert "confusable_username" in codes(name)


def test_all_errors_are_reported(settings):
    # A Cyrillic "а" and an invisible joiner.
    assert codes("\u0430dmin\u200d") == ["invisible_character", "confusable_username"]
    settings.UBLOG_ACCOUNTS_RESERVED_USERNAMES = ["b\u200dob"]
    assert codes("B\u200dOB") == [
        "reserved_username",
        "invisible_character",
        "confusable_username",
    ]


@pytest.mark.parametrize("value", [None, 42, b"admin"])
def test_non_strings_are_left_to_other_validators(value):
    for validator in validators.USERNAME_VALIDATORS:
        validator(value)
    assert codes(value) == []
