"""Tests of flowtrail.config: precedence, the walk-up, profiles, specs, errors and docs."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import flowtrail.config
from flowtrail.config import (
    Settings,
    config_file_path,
    find_home,
    load_profiles,
    mask_password,
    parse_metadata_spec,
    resolve_settings,
)
from flowtrail.errors import InvalidArgument, StoreUnavailable
from flowtrail.store import open_store

DOC = Path(__file__).resolve().parents[1] / "docs" / "reference" / "configuration.md"


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    """Write a profile file and return an environment that points at it."""
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return {"FLOWTRAIL_CONFIG": str(path)}


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """A working directory with no .flowtrail folder in it or above it."""
    folder = tmp_path / "work"
    folder.mkdir()
    if find_home(folder) is not None:
        pytest.skip(f"an ancestor of {folder} has a .flowtrail folder")
    return folder


# --- precedence: argument beats env beats profile beats default, for every field -------------

LAYERS = [("argument", "env", "profile"), ("env", "profile"), ("profile",), ()]

# field -> (argument name, environment variable, profile key)
FIELDS = {
    "metadata": ("metadata", "FLOWTRAIL_METADATA", "metadata"),
    "datastore": ("datastore", "FLOWTRAIL_DATASTORE", "datastore"),
    "datastore_root": ("datastore_root", "FLOWTRAIL_DATASTORE_ROOT", "datastore_root"),
}
VALUES = {
    "metadata": {"argument": "local@from-arg", "env": "local@from-env", "profile": "./prof"},
    "datastore": {"argument": "memory", "env": "local", "profile": "memory"},
    "datastore_root": {"argument": "arg-blobs", "env": "env-blobs", "profile": "prof-blobs"},
}


def expected_value(field: str, layer: str, cwd: Path) -> str:
    """The resolved value when ``layer`` wins for ``field``."""
    if layer == "default":
        return {"metadata": str(cwd / ".flowtrail"), "datastore": "local"}.get(
            field, str(cwd / ".flowtrail")
        )
    value = VALUES[field][layer]
    if field == "datastore":
        return value
    return str(cwd / value.removeprefix("local@"))


@pytest.mark.parametrize("layers", LAYERS, ids=lambda layers: "+".join(layers) or "none")
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_each_field_takes_the_first_source_that_sets_it(
    tmp_path: Path, cwd: Path, field: str, layers: tuple[str, ...]
) -> None:
    argument, variable, key = FIELDS[field]
    values = VALUES[field]
    kwargs: dict[str, str] = {}
    env = write_config(
        tmp_path,
        f"""
        [profiles.p]
        {key} = "{values["profile"]}"
        """
        if "profile" in layers
        else "",
    )
    env["FLOWTRAIL_PROFILE"] = "p" if "profile" in layers else ""
    if "profile" not in layers:
        env["FLOWTRAIL_CONFIG"] = str(tmp_path / "absent.toml")
    if "env" in layers:
        env[variable] = values["env"]
    if "argument" in layers:
        kwargs[argument] = values["argument"]

    settings = resolve_settings(env=env, cwd=cwd, **kwargs)

    winner = layers[0] if layers else "default"
    source = {
        "argument": "argument",
        "env": f"env:{variable}",
        "profile": f"profile:p ({tmp_path / 'config.toml'})",
        "default": "default",
    }[winner]
    assert settings.sources[field] == source
    actual = {
        "metadata": settings.metadata_location,
        "datastore": settings.datastore,
        "datastore_root": settings.datastore_root,
    }[field]
    assert actual == expected_value(field, winner, cwd)
    if field == "metadata":
        assert settings.metadata == "local"
        assert settings.sources["metadata_location"] == source


@pytest.mark.parametrize("layers", LAYERS[:3], ids=lambda layers: "+".join(layers))
def test_service_url_takes_the_first_source_that_sets_it(
    tmp_path: Path, cwd: Path, layers: tuple[str, ...]
) -> None:
    env = write_config(
        tmp_path,
        """
        [profiles.p]
        service_url = "http://profile:3"
        """,
    )
    env["FLOWTRAIL_PROFILE"] = "p"
    kwargs = {"metadata": "service"}
    if "env" in layers:
        env["FLOWTRAIL_SERVICE_URL"] = "http://env:2/"
    if "argument" in layers:
        kwargs["service_url"] = "https://argument:1"

    settings = resolve_settings(env=env, cwd=cwd, **kwargs)

    expected = {
        "argument": ("https://argument:1", "argument"),
        "env": ("http://env:2", "env:FLOWTRAIL_SERVICE_URL"),
        "profile": ("http://profile:3", f"profile:p ({tmp_path / 'config.toml'})"),
    }[layers[0]]
    assert settings.metadata == "service"
    assert (settings.metadata_location, settings.sources["metadata_location"]) == expected
    assert settings.sources["metadata"] == "argument"


def test_env_service_with_env_service_url(cwd: Path) -> None:
    env = {"FLOWTRAIL_METADATA": "service", "FLOWTRAIL_SERVICE_URL": "http://h:8080"}
    settings = resolve_settings(env=env, cwd=cwd)
    assert settings.metadata == "service"
    assert settings.metadata_url == "http://h:8080"
    assert settings.describe_metadata() == "service@http://h:8080"
    assert settings.sources["metadata"] == "env:FLOWTRAIL_METADATA"
    assert settings.sources["metadata_location"] == "env:FLOWTRAIL_SERVICE_URL"
    assert settings.home == cwd / ".flowtrail"


def test_service_url_beats_a_spec_url_only_from_a_higher_source(cwd: Path) -> None:
    env = {"FLOWTRAIL_METADATA": "service@http://env-spec:1"}
    by_argument = resolve_settings(service_url="http://argument:2", env=env, cwd=cwd)
    assert by_argument.metadata_location == "http://argument:2"

    env = {"FLOWTRAIL_SERVICE_URL": "http://env-url:3"}
    by_spec = resolve_settings(metadata="service@http://argument-spec:4", env=env, cwd=cwd)
    assert by_spec.metadata_location == "http://argument-spec:4"
    assert by_spec.sources["metadata_location"] == "argument"


def test_empty_environment_variables_count_as_unset(cwd: Path) -> None:
    env = dict.fromkeys(("FLOWTRAIL_METADATA", "FLOWTRAIL_DATASTORE", "FLOWTRAIL_PROFILE"), "")
    settings = resolve_settings(env=env, cwd=cwd)
    assert settings.metadata == "local"
    assert set(settings.sources.values()) == {"default"}


def test_env_defaults_to_os_environ_read_at_call_time(
    tmp_path: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWTRAIL_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("FLOWTRAIL_PROFILE", "FLOWTRAIL_DATASTORE", "FLOWTRAIL_DATASTORE_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLOWTRAIL_METADATA", "service@http://called:1")
    assert resolve_settings(cwd=cwd).metadata_location == "http://called:1"
    monkeypatch.setenv("FLOWTRAIL_METADATA", "service@http://again:2")
    assert resolve_settings(cwd=cwd).metadata_location == "http://again:2"


def test_cwd_defaults_to_the_process_working_directory(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(cwd)
    settings = resolve_settings(env={})
    assert settings.home == Path.cwd() / ".flowtrail"


# --- the embedded default: walking up to .flowtrail ------------------------------------------


def test_walk_up_finds_a_home_two_levels_up(cwd: Path) -> None:
    home = cwd / ".flowtrail"
    home.mkdir()
    start = cwd / "a" / "b"
    start.mkdir(parents=True)

    settings = resolve_settings(env={}, cwd=start)

    assert find_home(start) == home
    assert settings.home == home
    assert settings.metadata_location == str(home)
    assert settings.datastore_root == str(home)
    assert settings.metadata_url == f"sqlite:///{home.as_posix()}/flowtrail.db"
    assert settings.describe_metadata() == f"local@{home}"


def test_metadata_url_round_trips_a_path_with_url_characters(cwd: Path) -> None:
    weird = cwd / "we?ird#x"
    weird.mkdir()

    settings = resolve_settings(env={}, cwd=weird)
    db = weird / ".flowtrail" / "flowtrail.db"

    assert make_url(settings.metadata_url).database == str(db)
    settings.ensure_home()
    open_store(settings.metadata_url).close()
    assert db.is_file()
    assert sorted(path.name for path in cwd.iterdir()) == ["we?ird#x"]


def test_walk_up_takes_the_nearest_home_and_skips_files(cwd: Path) -> None:
    (cwd / ".flowtrail").mkdir()
    inner = cwd / "project"
    (inner / ".flowtrail").mkdir(parents=True)
    deeper = inner / "src"
    (deeper / ".flowtrail").parent.mkdir()
    (deeper / ".flowtrail").write_text("a file, not a home")

    assert find_home(deeper) == inner / ".flowtrail"
    assert find_home(cwd) == cwd / ".flowtrail"


def test_no_home_found_means_cwd_flowtrail_and_nothing_is_created(cwd: Path) -> None:
    settings = resolve_settings(env={}, cwd=cwd)

    assert find_home(cwd) is None
    assert settings.home == cwd / ".flowtrail"
    assert settings.datastore_root == str(cwd / ".flowtrail")
    assert list(cwd.iterdir()) == []
    assert settings.ensure_home() == cwd / ".flowtrail"
    assert (cwd / ".flowtrail").is_dir()


def test_ensure_home_reports_a_file_in_the_way(cwd: Path) -> None:
    (cwd / ".flowtrail").write_text("not a folder")
    settings = resolve_settings(metadata="local@.flowtrail", env={}, cwd=cwd)
    with pytest.raises(StoreUnavailable, match=re.escape(str(cwd / ".flowtrail"))):
        settings.ensure_home()


def test_local_at_path_and_bare_paths_are_absolute_against_cwd(cwd: Path) -> None:
    settings = resolve_settings(metadata="local@store/.flowtrail", env={}, cwd=cwd)
    assert settings.home == cwd / "store" / ".flowtrail"
    assert settings.datastore_root == str(cwd / "store" / ".flowtrail")
    assert settings.sources["home"] == "argument"
    assert not (cwd / "store").exists()

    bare = resolve_settings(metadata="../elsewhere", env={}, cwd=cwd)
    assert bare.home == cwd.parent / "elsewhere"


def test_local_at_a_folder_holding_a_home_means_that_home(cwd: Path) -> None:
    project = cwd / "project"
    (project / ".flowtrail").mkdir(parents=True)
    assert resolve_settings(metadata=f"local@{project}", env={}, cwd=cwd).home == (
        project / ".flowtrail"
    )
    assert resolve_settings(metadata="./project", env={}, cwd=cwd).home == project / ".flowtrail"
    # A folder that is a home itself (its database is there) is taken as given.
    (project / "flowtrail.db").touch()
    assert resolve_settings(metadata=f"local@{project}", env={}, cwd=cwd).home == project
    named = project / ".flowtrail" / ".flowtrail"
    named.mkdir()
    home = resolve_settings(metadata=f"local@{project / '.flowtrail'}", env={}, cwd=cwd).home
    assert home == project / ".flowtrail"


# --- profiles ---------------------------------------------------------------------------------

PROFILES = """
default_profile = "team"

[profiles.team]
metadata = "service@http://flowtrail.internal:8080"
datastore = "s3"
datastore_root = "s3://bucket/flowtrail"

[profiles.solo]
metadata = "local@~/flowtrail-solo"

[profiles.ci]
metadata = "sqlite:///ci.db"
datastore = "memory"
"""


def test_profile_selected_by_default_profile(tmp_path: Path, cwd: Path) -> None:
    env = write_config(tmp_path, PROFILES)
    settings = resolve_settings(env=env, cwd=cwd)
    assert settings.profile == "team"
    assert settings.sources["profile"] == f"default_profile ({tmp_path / 'config.toml'})"
    assert settings.describe_metadata() == "service@http://flowtrail.internal:8080"
    assert (settings.datastore, settings.blob_url) == ("s3", "s3://bucket/flowtrail")
    assert settings.sources["datastore_root"] == f"profile:team ({tmp_path / 'config.toml'})"


def test_profile_selected_by_environment(tmp_path: Path, cwd: Path) -> None:
    env = write_config(tmp_path, PROFILES) | {"FLOWTRAIL_PROFILE": "ci"}
    settings = resolve_settings(env=env, cwd=cwd)
    assert settings.profile == "ci"
    assert settings.sources["profile"] == "env:FLOWTRAIL_PROFILE"
    assert settings.metadata == "sql"
    assert settings.metadata_url == f"sqlite:///{(cwd / 'ci.db').as_posix()}"
    assert (settings.datastore, settings.blob_url) == ("memory", "memory://flowtrail")


def test_profile_argument_beats_environment_and_default(tmp_path: Path, cwd: Path) -> None:
    env = write_config(tmp_path, PROFILES) | {"FLOWTRAIL_PROFILE": "ci"}
    settings = resolve_settings(profile="solo", env=env, cwd=cwd)
    assert settings.profile == "solo"
    assert settings.sources["profile"] == "argument"
    assert settings.home == Path("~/flowtrail-solo").expanduser()


def test_missing_profile_file_is_no_profiles(tmp_path: Path, cwd: Path) -> None:
    env = {"FLOWTRAIL_CONFIG": str(tmp_path / "absent.toml")}
    assert resolve_settings(env=env, cwd=cwd).profile is None
    loaded = load_profiles(env=env)
    assert (loaded.exists, dict(loaded.profiles), loaded.default_profile) == (False, {}, None)


def test_profile_asked_for_without_a_file(tmp_path: Path, cwd: Path) -> None:
    env = {"FLOWTRAIL_CONFIG": str(tmp_path / "absent.toml"), "FLOWTRAIL_PROFILE": "team"}
    with pytest.raises(InvalidArgument) as caught:
        resolve_settings(env=env, cwd=cwd)
    message = str(caught.value)
    assert "'team'" in message
    assert str(tmp_path / "absent.toml") in message
    assert "does not exist" in message
    assert "FLOWTRAIL_PROFILE" in message


def test_profile_not_in_the_file_lists_the_available_ones(tmp_path: Path, cwd: Path) -> None:
    env = write_config(tmp_path, PROFILES)
    with pytest.raises(InvalidArgument) as caught:
        resolve_settings(profile="prod", env=env, cwd=cwd)
    message = str(caught.value)
    assert "'prod'" in message
    assert str(tmp_path / "config.toml") in message
    assert "available profiles: ci, solo, team" in message


def test_default_profile_naming_no_profile(tmp_path: Path, cwd: Path) -> None:
    env = write_config(tmp_path, 'default_profile = "gone"\n[profiles.here]\n')
    with pytest.raises(
        InvalidArgument, match=r"'gone' \(default_profile .*available profiles: here"
    ):
        resolve_settings(env=env, cwd=cwd)


def test_bad_toml_names_the_file(tmp_path: Path, cwd: Path) -> None:
    env = write_config(tmp_path, "[profiles.team\nmetadata = ")
    with pytest.raises(InvalidArgument) as caught:
        resolve_settings(env=env, cwd=cwd)
    assert str(tmp_path / "config.toml") in str(caught.value)
    assert "not valid TOML" in str(caught.value)


def test_unknown_profile_key_names_file_profile_key_and_accepted_keys(
    tmp_path: Path, cwd: Path
) -> None:
    env = write_config(tmp_path, '[profiles.team]\nmetadata = "local"\ndatastore_rot = "/x"\n')
    with pytest.raises(InvalidArgument) as caught:
        resolve_settings(env=env, cwd=cwd)
    message = str(caught.value)
    assert "'datastore_rot'" in message
    assert "'team'" in message
    assert str(tmp_path / "config.toml") in message
    assert "accepted keys: metadata, service_url, datastore, datastore_root" in message


def test_unknown_top_level_key(tmp_path: Path, cwd: Path) -> None:
    env = write_config(tmp_path, '[profile.team]\nmetadata = "local"\n')
    with pytest.raises(InvalidArgument, match=r"'profile'.*default_profile, profiles"):
        resolve_settings(env=env, cwd=cwd)


@pytest.mark.parametrize(
    "text",
    ["[profiles.team]\ndatastore = 3\n", '[profiles.team]\ndatastore = ""\n', "profiles = 1\n"],
)
def test_profile_values_of_the_wrong_type(tmp_path: Path, text: str) -> None:
    path = Path(write_config(tmp_path, text)["FLOWTRAIL_CONFIG"])
    with pytest.raises(InvalidArgument, match=re.escape(str(path))):
        load_profiles(path)


def test_bad_metadata_in_a_profile_names_the_profile(tmp_path: Path, cwd: Path) -> None:
    env = write_config(tmp_path, '[profiles.team]\nmetadata = "sevice"\n')
    with pytest.raises(InvalidArgument) as caught:
        resolve_settings(profile="team", env=env, cwd=cwd)
    assert "profile:team" in str(caught.value)
    assert "'sevice'" in str(caught.value)


def test_config_file_location(tmp_path: Path) -> None:
    explicit = {"FLOWTRAIL_CONFIG": "conf/ft.toml", "XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}
    assert config_file_path(explicit, cwd=tmp_path) == tmp_path / "conf" / "ft.toml"
    xdg = {"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}
    assert config_file_path(xdg) == Path("/xdg/flowtrail/config.toml")
    relative_xdg = {"XDG_CONFIG_HOME": "xdg", "HOME": "/home/u"}
    assert config_file_path(relative_xdg) == Path("/home/u/.config/flowtrail/config.toml")
    assert config_file_path({}) is None


# --- errors of resolution ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "env"),
    [
        ({"metadata": "service"}, {}),
        ({}, {"FLOWTRAIL_METADATA": "service"}),
    ],
)
def test_service_without_a_url(cwd: Path, kwargs: dict[str, str], env: dict[str, str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        resolve_settings(env=env, cwd=cwd, **kwargs)
    assert "FLOWTRAIL_SERVICE_URL" in str(caught.value)
    assert "service@" in str(caught.value)


def test_s3_without_a_root(cwd: Path) -> None:
    with pytest.raises(InvalidArgument) as caught:
        resolve_settings(env={"FLOWTRAIL_DATASTORE": "s3"}, cwd=cwd)
    message = str(caught.value)
    assert "'s3'" in message
    assert "datastore_root" in message
    assert "FLOWTRAIL_DATASTORE_ROOT" in message
    assert "s3://bucket/prefix" in message


def test_unknown_datastore_lists_the_accepted_ones(cwd: Path) -> None:
    with pytest.raises(InvalidArgument) as caught:
        resolve_settings(datastore="ftp", env={}, cwd=cwd)
    assert "'ftp'" in str(caught.value)
    assert "local, s3, gs, memory" in str(caught.value)


@pytest.mark.parametrize(
    ("datastore", "root"),
    [("local", "s3://bucket/x"), ("s3", "/a/folder"), ("s3", "s3://"), ("gs", "s3://b/x")],
)
def test_root_that_does_not_fit_the_datastore(cwd: Path, datastore: str, root: str) -> None:
    with pytest.raises(InvalidArgument, match="datastore_root"):
        resolve_settings(datastore=datastore, datastore_root=root, env={}, cwd=cwd)


def test_datastore_is_implied_by_a_url_root(cwd: Path) -> None:
    env = {"FLOWTRAIL_DATASTORE_ROOT": "gcs://bucket/prefix/"}
    settings = resolve_settings(env=env, cwd=cwd)
    assert (settings.datastore, settings.datastore_root) == ("gs", "gcs://bucket/prefix")
    assert settings.sources["datastore"] == "env:FLOWTRAIL_DATASTORE_ROOT"
    with pytest.raises(InvalidArgument, match="'ftp'"):
        resolve_settings(datastore_root="ftp://x/y", env={}, cwd=cwd)


def test_a_root_of_another_datastore_from_a_lower_source_is_dropped(
    tmp_path: Path, cwd: Path
) -> None:
    env = write_config(
        tmp_path,
        """
        [profiles.team]
        datastore = "s3"
        datastore_root = "s3://bucket/flowtrail"
        """,
    )
    env |= {"FLOWTRAIL_PROFILE": "team", "FLOWTRAIL_DATASTORE": "local"}
    settings = resolve_settings(env=env, cwd=cwd)
    assert (settings.datastore, settings.datastore_root) == ("local", str(cwd / ".flowtrail"))
    assert settings.sources["datastore_root"] == "default"

    fitting = resolve_settings(env=env | {"FLOWTRAIL_DATASTORE": "s3"}, cwd=cwd)
    assert fitting.datastore_root == "s3://bucket/flowtrail"

    with pytest.raises(InvalidArgument, match="needs a datastore_root"):
        resolve_settings(datastore="gs", env=env, cwd=cwd)


def test_bad_metadata_from_env_says_where_it_came_from(cwd: Path) -> None:
    with pytest.raises(InvalidArgument) as caught:
        resolve_settings(env={"FLOWTRAIL_METADATA": "garbage"}, cwd=cwd)
    message = str(caught.value)
    assert "env:FLOWTRAIL_METADATA" in message
    assert "'garbage'" in message
    assert "service@URL" in message


# --- parse_metadata_spec ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("local", ("local", None)),
        (" local ", ("local", None)),
        ("service", ("service", None)),
        ("local@/abs/.flowtrail", ("local", "/abs/.flowtrail")),
        ("local@rel/.flowtrail", ("local", "{cwd}/rel/.flowtrail")),
        ("local@.", ("local", "{cwd}")),
        ("/abs/path", ("local", "/abs/path")),
        ("./rel", ("local", "{cwd}/rel")),
        ("../up", ("local", "{parent}/up")),
        ("a/b", ("local", "{cwd}/a/b")),
        ("/data/x@y", ("local", "/data/x@y")),
        ("service@http://h:8080", ("service", "http://h:8080")),
        ("service@https://h/prefix/", ("service", "https://h/prefix")),
        ("http://h:8080", ("service", "http://h:8080")),
        ("https://flowtrail.example.com", ("service", "https://flowtrail.example.com")),
        ("sql@sqlite:////abs/ft.db", ("sql", "sqlite:////abs/ft.db")),
        ("sql@postgresql://u:p@h/db", ("sql", "postgresql://u:p@h/db")),
        ("sqlite:///rel.db", ("sql", "sqlite:///{cwd}/rel.db")),
        ("sqlite:///rel.db?timeout=5", ("sql", "sqlite:///{cwd}/rel.db?timeout=5")),
        ("sqlite://", ("sql", "sqlite://")),
        ("sqlite:///:memory:", ("sql", "sqlite:///:memory:")),
        ("postgresql://u@h/db", ("sql", "postgresql://u@h/db")),
        ("postgresql+psycopg://u:p@h:5432/db", ("sql", "postgresql+psycopg://u:p@h:5432/db")),
    ],
)
def test_parse_metadata_spec_forms(
    tmp_path: Path, spec: str, expected: tuple[str, str | None]
) -> None:
    kind, info = expected
    if info is not None:
        info = info.format(cwd=tmp_path.as_posix(), parent=tmp_path.parent.as_posix())
    assert parse_metadata_spec(spec, cwd=tmp_path) == (kind, info)


def test_parse_metadata_spec_expands_the_home_folder() -> None:
    assert parse_metadata_spec("~/ft") == ("local", str(Path("~/ft").expanduser()))


@pytest.mark.parametrize(
    "spec",
    [
        "garbage",
        "locl",
        "",
        "sql",
        "local@",
        "service@",
        "foo@bar",
        "local@s3://bucket",
        "service@ftp://h",
        "service@h:8080",
        "http://",
        "http://h:notaport",
        "mysql://u@h/db",
        "sql@http://h",
        "sqlite://host/db",
    ],
)
def test_parse_metadata_spec_refuses_other_forms(spec: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_metadata_spec(spec)
    message = str(caught.value)
    assert repr(spec) in message
    for form in ("'local@PATH'", "'service@URL'", "'sql@URL'", "http://", "sqlite:///"):
        assert form in message
    assert caught.value.details["given"] == spec


def test_parse_error_masks_the_password() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_metadata_spec("mysql://user:hunter2@h/db")
    assert "hunter2" not in str(caught.value)
    assert "mysql://user:***@h/db" in str(caught.value)


# --- mask_password ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://user:secret@host/db", "postgresql+psycopg://user:***@host/db"),
        ("postgresql://user@host:5432/db", "postgresql://user@host:5432/db"),
        ("postgresql://u:p@ss/w@host:5/db?x=1", "postgresql://u:***@host:5/db?x=1"),
        ("postgresql://u:p?x@host/db", "postgresql://u:***@host/db"),
        ("postgresql://host:5432/db?email=a@b", "postgresql://host:5432/db?email=a@b"),
        ("postgresql://host/db?password=secret&x=1", "postgresql://host/db?password=***&x=1"),
        ("https://token:abc@h:8080/api", "https://token:***@h:8080/api"),
        ("sqlite:////abs/ft.db", "sqlite:////abs/ft.db"),
        ("/not/a/url", "/not/a/url"),
    ],
)
def test_mask_password(url: str, masked: str) -> None:
    assert mask_password(url) == masked


# --- Settings ---------------------------------------------------------------------------------


def test_describe_metadata_strings(cwd: Path) -> None:
    local = resolve_settings(env={}, cwd=cwd)
    service = resolve_settings(metadata="service@http://host:8080", env={}, cwd=cwd)
    sql = resolve_settings(metadata="postgresql+psycopg://user:pw@host/db", env={}, cwd=cwd)

    assert local.describe_metadata() == f"local@{cwd / '.flowtrail'}"
    assert service.describe_metadata() == "service@http://host:8080"
    assert sql.describe_metadata() == "sql@postgresql+psycopg://user:***@host/db"
    assert sql.metadata_url == "postgresql+psycopg://user:pw@host/db"
    assert "pw" not in repr(sql)
    # The description is a spec that selects the same provider again.
    again = resolve_settings(metadata=local.describe_metadata(), env={}, cwd=cwd / "..")
    assert again.home == local.home


def test_settings_are_frozen_picklable_and_copy_their_sources(cwd: Path) -> None:
    settings = resolve_settings(env={}, cwd=cwd)
    assert pickle.loads(pickle.dumps(settings)) == settings
    with pytest.raises(AttributeError):
        settings.metadata = "sql"  # type: ignore[misc]
    sources = {"metadata": "argument"}
    built = Settings("sql", "sqlite://", "memory", "memory://x", None, cwd, sources)
    sources["metadata"] = "changed"
    assert built.sources == {"metadata": "argument"}
    assert hash(built) == hash(Settings("sql", "sqlite://", "memory", "memory://x", None, cwd))


def test_settings_check_their_fields(cwd: Path) -> None:
    with pytest.raises(InvalidArgument, match="local, sql, service"):
        Settings("mongo", "x", "local", "/x", None, cwd)
    with pytest.raises(InvalidArgument, match="metadata_location must equal home"):
        Settings("local", "/elsewhere", "local", "/x", None, cwd / ".flowtrail")


# --- no configuration is read at import time --------------------------------------------------


def test_importing_reads_no_environment_and_no_files(tmp_path: Path) -> None:
    bad_config = tmp_path / "config.toml"
    bad_config.write_text("this is [not toml")
    script = textwrap.dedent(
        f"""
        import os
        import flowtrail.config
        from flowtrail.errors import InvalidArgument
        print("imported")
        for env in (None, dict(os.environ, FLOWTRAIL_CONFIG={str(tmp_path / "absent.toml")!r})):
            try:
                flowtrail.config.resolve_settings(env=env)
            except InvalidArgument as exc:
                print("refused:", exc)
        """
    )
    env = dict(os.environ, FLOWTRAIL_METADATA="garbage", FLOWTRAIL_CONFIG=str(bad_config))
    env.pop("FLOWTRAIL_PROFILE", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "imported"
    assert "not valid TOML" in lines[1]
    assert "'garbage'" in lines[2]
    assert "env:FLOWTRAIL_METADATA" in lines[2]


# --- public surface and docs ------------------------------------------------------------------


def test_public_names_exist_and_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in flowtrail.config.__all__:
        assert hasattr(flowtrail.config, name), name
        assert f"`{name}" in text, f"{name} is not mentioned in {DOC.name}"
        assert getattr(flowtrail.config, name).__doc__, name
    for variable in (
        "FLOWTRAIL_METADATA",
        "FLOWTRAIL_SERVICE_URL",
        "FLOWTRAIL_DATASTORE",
        "FLOWTRAIL_DATASTORE_ROOT",
        "FLOWTRAIL_PROFILE",
        "FLOWTRAIL_CONFIG",
    ):
        assert f"`{variable}`" in text, variable
